using System.Security.Cryptography;
using System.Text;
using Sieve.Models;
using Sieve.Tensors;

namespace Sieve.Cache.A2ats;

/// <summary>
/// A short identity of a model for files fitted to it (A²ATS codebooks): SHA-256, as lowercase hex, over the
/// numbers that shape its keys and queries and the raw bytes of two small weight tensors.
/// </summary>
/// <remarks>
/// <para>Hashed, in this order: a version tag; the architecture name; dim, layers, heads, KV heads, head dim, FFN dim,
/// vocabulary; RMSNorm ε; RoPE dimensions, style, base, llama3 scaling (factor, low/high-frequency factors, original
/// context), sliding-layer base and linear factor; QK-norm and QKV-bias flags; each layer's attention window; then, for
/// the K projections of layer 0 and of the last layer, their stored type, rows, columns and every byte as stored.</para>
/// <para>The context length is left out: it can be capped at load without changing a single key. The two K
/// projections are what the codebooks quantize (pre-RoPE keys are their products), they differ between any two
/// trainings or random seeds, and they are small: 256 × 2048 at llama-1b (1 MiB in F16, 0.3 ms to hash), 1024 × 4096
/// at Llama-3.1-8B. The bytes are hashed as stored, so the same weights quantized differently (F16 vs Q8_0) are
/// different models here; their keys do differ slightly, and codebooks should be fitted on the file that runs.</para>
/// </remarks>
public static class ModelFingerprint
{
    public static string Of(ModelConfig config, ModelWeights weights)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Text(string s) { var b = Encoding.UTF8.GetBytes(s); Int(b.Length); hash.AppendData(b); }
        void Int(long v) { Span<byte> b = stackalloc byte[8]; BitConverter.TryWriteBytes(b, v); hash.AppendData(b); }
        void Real(double v) { Span<byte> b = stackalloc byte[8]; BitConverter.TryWriteBytes(b, v); hash.AppendData(b); }

        Text("sieve-model-fingerprint-v1");
        Text(config.Architecture);
        foreach (long v in new long[] { config.Dim, config.LayerCount, config.HeadCount, config.KvHeadCount, config.HeadDim, config.FfnDim, config.VocabSize })
            Int(v);
        Real(config.NormEps);
        Int(config.RopeDim);
        Int((long)config.RopeStyle);
        Real(config.RopeTheta);
        var s = config.RopeScaling;
        Real(s?.Factor ?? 0); Real(s?.LowFreqFactor ?? 0); Real(s?.HighFreqFactor ?? 0); Int(s?.OriginalContextLength ?? 0);
        Real(config.SlidingRopeTheta);
        Real(config.RopeLinearFactor);
        Int(config.QkNorm ? 1 : 0);
        Int(config.QkvBias ? 1 : 0);
        for (int l = 0; l < config.LayerCount; l++) Int(config.IsSliding(l) ? config.SlidingWindow : 0);

        if (weights.Layers.Length == 0) throw new ArgumentException("a model with no layers has no fingerprint");
        Tensor(hash, weights.Layers[0].Wk);
        Tensor(hash, weights.Layers[^1].Wk);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    static unsafe void Tensor(IncrementalHash hash, WeightTensor t)
    {
        Span<byte> head = stackalloc byte[24];
        BitConverter.TryWriteBytes(head, (long)t.Type);
        BitConverter.TryWriteBytes(head[8..], (long)t.Rows);
        BitConverter.TryWriteBytes(head[16..], (long)t.Cols);
        hash.AppendData(head);
        // Row by row: a mapped tensor may exceed 2 GiB in total, a row never does.
        for (int r = 0; r < t.Rows; r++) hash.AppendData(t.Row(r));
    }
}
