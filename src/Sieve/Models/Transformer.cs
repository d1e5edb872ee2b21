using System.Numerics.Tensors;
using Sieve.Cache;
using Sieve.Kernels;
using Sieve.Pruning;
using Sieve.Threading;

namespace Sieve.Models;

/// <summary>
/// The Llama-family decoder forward pass: one code path for prefill (n rows, matrix-matrix) and decode (one row,
/// matrix-vector). Methods change it only through its seams: <see cref="Plan"/> (which layers run in which
/// stage), the <see cref="IKvCache"/> passed in (what is stored and how attention reads it) and
/// <see cref="Hook"/> (observing or rewriting named activations).
/// </summary>
public sealed class Transformer
{
    public ModelConfig Config { get; }
    public ModelWeights Weights { get; }
    public WorkerPool Pool { get; }
    public LayerPlan Plan { get; set; }
    public IForwardHook? Hook { get; set; }

    /// <summary>Prompt rows processed per prefill step; bounds scratch memory (n × ffn floats).</summary>
    public int MaxBatch { get; }

    readonly Rope _rope;
    readonly MatMul _mm;
    readonly float[] _embedRow;

    // Scratch, [MaxBatch × width] each, allocated once.
    readonly float[] _x;      // residual stream        [n, dim]
    readonly float[] _xb;     // normed input / output  [n, dim]
    readonly float[] _q;      //                        [n, qDim]
    readonly float[] _k;      //                        [n, kvDim]
    readonly float[] _v;      //                        [n, kvDim]
    readonly float[] _att;    // attention output       [n, qDim]
    readonly float[] _hb;     // gate, then silu(gate)·up [n, ffn]
    readonly float[] _hb2;    // up                     [n, ffn]
    float[] _logits;          // [rows, vocab]

    public Transformer(ModelConfig config, ModelWeights weights, WorkerPool pool, int maxBatch = 512)
    {
        Config = config; Weights = weights; Pool = pool;
        MaxBatch = Math.Max(1, maxBatch);
        Plan = LayerPlan.Full(config.LayerCount);
        _rope = new Rope(config);
        _mm = new MatMul(pool);
        int n = MaxBatch;
        _x = new float[n * config.Dim];
        _xb = new float[n * config.Dim];
        _q = new float[n * config.QDim];
        _k = new float[n * config.KvDim];
        _v = new float[n * config.KvDim];
        _att = new float[n * config.QDim];
        _hb = new float[n * config.FfnDim];
        _hb2 = new float[n * config.FfnDim];
        _embedRow = new float[config.Dim];
        _logits = new float[config.VocabSize];
    }

    public DenseKvCache CreateDenseCache(int capacity) => new(KvCacheShape.Of(Config, capacity), Pool);

    /// <summary>A cache of the given method (dense, self-indexing, Quest, a press …) for this model.</summary>
    public IKvCache CreateCache(KvCacheSpec spec, int capacity) => spec.Create(KvCacheShape.Of(Config, capacity), Pool);

    /// <summary>Runs the prompt through the model from <paramref name="startPos"/>; returns logits of the last token.</summary>
    public ReadOnlySpan<float> Prefill(ReadOnlySpan<int> tokens, int startPos, IKvCache cache) =>
        Forward(tokens, startPos, cache, ForwardStage.Prefill, allLogits: false);

    /// <summary>Runs one token at <paramref name="pos"/>; returns its logits.</summary>
    public ReadOnlySpan<float> Decode(int token, int pos, IKvCache cache)
    {
        _one[0] = token;
        return Forward(_one, pos, cache, ForwardStage.Decode, allLogits: false);
    }

    readonly int[] _one = new int[1];

    /// <summary>Logits for every position of <paramref name="tokens"/> (perplexity, multiple-choice scoring).</summary>
    public ReadOnlySpan<float> PrefillAllLogits(ReadOnlySpan<int> tokens, int startPos, IKvCache cache) =>
        Forward(tokens, startPos, cache, ForwardStage.Prefill, allLogits: true);

    /// <summary>
    /// The forward pass. Tokens beyond <see cref="MaxBatch"/> are processed in consecutive chunks. Returns
    /// vocab-wide logits for the last token, or for every token when <paramref name="allLogits"/>.
    /// </summary>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, int startPos, IKvCache cache, ForwardStage stage, bool allLogits)
    {
        if (tokens.IsEmpty) throw new ArgumentException("no tokens to run");
        if (startPos < 0 || startPos + tokens.Length > cache.Capacity)
            throw new ArgumentOutOfRangeException(nameof(tokens), $"positions {startPos}..{startPos + tokens.Length - 1} exceed the KV cache capacity {cache.Capacity}");
        int vocab = Config.VocabSize;
        if (allLogits && _logits.Length < tokens.Length * vocab) _logits = new float[tokens.Length * vocab];
        for (int done = 0; done < tokens.Length; done += MaxBatch)
        {
            int n = Math.Min(MaxBatch, tokens.Length - done);
            bool last = done + n == tokens.Length;
            var chunkLogits = allLogits ? _logits.AsSpan(done * vocab, n * vocab) : last ? _logits.AsSpan(0, vocab) : default;
            ForwardChunk(tokens.Slice(done, n), startPos + done, cache, stage, allLogits ? n : last ? 1 : 0, chunkLogits);
        }
        return allLogits ? _logits.AsSpan(0, tokens.Length * vocab) : _logits.AsSpan(0, vocab);
    }

    void ForwardChunk(ReadOnlySpan<int> tokens, int startPos, IKvCache cache, ForwardStage stage, int logitRows, Span<float> logits)
    {
        var c = Config;
        var w = Weights;
        int n = tokens.Length, dim = c.Dim, qDim = c.QDim, kvDim = c.KvDim, ffn = c.FfnDim;
        var x = _x.AsSpan(0, n * dim);
        var xb = _xb.AsSpan(0, n * dim);
        var q = _q.AsSpan(0, n * qDim);
        var k = _k.AsSpan(0, n * kvDim);
        var v = _v.AsSpan(0, n * kvDim);
        var att = _att.AsSpan(0, n * qDim);
        var hb = _hb.AsSpan(0, n * ffn);
        var hb2 = _hb2.AsSpan(0, n * ffn);

        for (int j = 0; j < n; j++)
        {
            int t = tokens[j];
            if ((uint)t >= (uint)c.VocabSize) throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {t} is outside the vocabulary (0..{c.VocabSize - 1})");
            Dequantize.Row(w.TokenEmbedding.Type, w.TokenEmbedding.Row(t), x.Slice(j * dim, dim));
        }

        for (int l = 0; l < c.LayerCount; l++)
        {
            var mode = Plan.Mode(stage, l);
            if (mode == LayerMode.Skip) continue;
            var lw = w.Layers[l];
            Emit(ActivationSite.LayerInput, l, stage, startPos, n, dim, x);

            // ---- attention ----
            for (int j = 0; j < n; j++)
                RmsNorm.Apply(x.Slice(j * dim, dim), lw.AttnNorm, c.NormEps, xb.Slice(j * dim, dim));
            Emit(ActivationSite.AttnNorm, l, stage, startPos, n, dim, xb);

            if (mode == LayerMode.Full) _mm.Apply(lw.Wq, xb, n, q);
            _mm.Apply(lw.Wk, xb, n, k);
            _mm.Apply(lw.Wv, xb, n, v);
            for (int j = 0; j < n; j++)
            {
                int pos = startPos + j;
                var kj = k.Slice(j * kvDim, kvDim);
                if (lw.Bk != null) TensorPrimitives.Add(kj, lw.Bk, kj);
                if (lw.KNorm != null) NormHeads(kj, c.KvHeadCount, lw.KNorm);
                _rope.Apply(kj, c.KvHeadCount, pos);
                if (lw.Bv != null) TensorPrimitives.Add(v.Slice(j * kvDim, kvDim), lw.Bv, v.Slice(j * kvDim, kvDim));
                if (mode != LayerMode.Full) continue;
                var qj = q.Slice(j * qDim, qDim);
                if (lw.Bq != null) TensorPrimitives.Add(qj, lw.Bq, qj);
                if (lw.QNorm != null) NormHeads(qj, c.HeadCount, lw.QNorm);
                _rope.Apply(qj, c.HeadCount, pos);
            }
            Emit(ActivationSite.K, l, stage, startPos, n, kvDim, k);
            Emit(ActivationSite.V, l, stage, startPos, n, kvDim, v);
            cache.Append(l, stage, startPos, n, k, v);
            if (mode == LayerMode.KvOnly) continue;   // POP: the residual passes this layer unchanged
            Emit(ActivationSite.Q, l, stage, startPos, n, qDim, q);

            cache.Attend(l, stage, startPos, n, q, att);
            Emit(ActivationSite.AttnOut, l, stage, startPos, n, qDim, att);
            _mm.Apply(lw.Wo, att, n, xb);
            TensorPrimitives.Add(x, xb, x);

            // ---- feed-forward (SwiGLU) ----
            for (int j = 0; j < n; j++)
                RmsNorm.Apply(x.Slice(j * dim, dim), lw.FfnNorm, c.NormEps, xb.Slice(j * dim, dim));
            Emit(ActivationSite.FfnIn, l, stage, startPos, n, dim, xb);
            _mm.Apply(lw.Gate, xb, n, hb);
            _mm.Apply(lw.Up, xb, n, hb2);
            SwiGlu.Apply(hb, hb2);
            Emit(ActivationSite.FfnAct, l, stage, startPos, n, ffn, hb);
            _mm.Apply(lw.Down, hb, n, xb);
            TensorPrimitives.Add(x, xb, x);
            Emit(ActivationSite.Residual, l, stage, startPos, n, dim, x);
        }

        if (logitRows == 0) return;
        int first = n - logitRows;
        var normed = xb.Slice(0, logitRows * dim);
        for (int j = 0; j < logitRows; j++)
            RmsNorm.Apply(x.Slice((first + j) * dim, dim), w.OutputNorm, c.NormEps, normed.Slice(j * dim, dim));
        _mm.Apply(w.Output, normed, logitRows, logits);
    }

    /// <summary>Qwen3's per-head RMSNorm of Q and K.</summary>
    void NormHeads(Span<float> x, int heads, float[] weight)
    {
        int hd = Config.HeadDim;
        for (int h = 0; h < heads; h++) RmsNorm.Apply(x.Slice(h * hd, hd), weight, Config.NormEps, x.Slice(h * hd, hd));
    }

    void Emit(ActivationSite site, int layer, ForwardStage stage, int startPos, int count, int width, Span<float> values)
    {
        var hook = Hook;
        if (hook != null && hook.Wants(site, layer)) hook.OnActivation(site, layer, stage, startPos, count, width, values);
    }
}
