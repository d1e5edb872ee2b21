using Sieve.Formats;
using Sieve.Models;
using Sieve.Tensors;

namespace Sieve.Fuzz.Seeds;

/// <summary>
/// A one-layer Llama with random weights (dim 32, 2 heads, 1 KV head, FFN 64, vocab 320, context 64), filled from a
/// seeded <see cref="Random"/> so the seed files are byte-identical on every run. Written through the project's own
/// converters, it gives a ~40 KB GGUF and safetensors file that load and run in well under a millisecond.
/// </summary>
public static class TinyModel
{
    public static readonly ModelConfig Config = new()
    {
        Architecture = "llama", Dim = 32, LayerCount = 1, HeadCount = 2, KvHeadCount = 1, HeadDim = 16, FfnDim = 64,
        VocabSize = TinyTokenizers.ModelVocab, ContextLength = 64, RopeDim = 16,
    };

    public static LoadedCheckpoint Checkpoint(int seed = 1)
    {
        var rng = new Random(seed);
        var c = Config;
        WeightTensor M(string name, int rows, int cols)
        {
            var v = new float[rows * cols];
            for (int i = 0; i < v.Length; i++) v[i] = (float)((rng.NextDouble() * 2 - 1) * 0.05);
            return WeightTensor.FromFloat32(name, v, rows, cols);
        }
        float[] Ones(int n) => Enumerable.Repeat(1f, n).ToArray();
        var layer = new LayerWeights
        {
            AttnNorm = Ones(c.Dim), FfnNorm = Ones(c.Dim),
            Wq = M("blk.0.attn_q", c.QDim, c.Dim), Wk = M("blk.0.attn_k", c.KvDim, c.Dim), Wv = M("blk.0.attn_v", c.KvDim, c.Dim),
            Wo = M("blk.0.attn_output", c.Dim, c.QDim), Gate = M("blk.0.ffn_gate", c.FfnDim, c.Dim), Up = M("blk.0.ffn_up", c.FfnDim, c.Dim),
            Down = M("blk.0.ffn_down", c.Dim, c.FfnDim),
        };
        var embedding = M("token_embd", c.VocabSize, c.Dim);
        var weights = new ModelWeights { TokenEmbedding = embedding, Layers = [layer], OutputNorm = Ones(c.Dim), Output = M("output", c.VocabSize, c.Dim) };
        return new LoadedCheckpoint { Config = c, Weights = weights, Path = "tiny", Format = "gguf" };
    }
}
