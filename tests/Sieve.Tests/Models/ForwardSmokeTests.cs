using System.Text.Json;
using Sieve.Formats.Gguf;
using Sieve.Models;
using Sieve.Threading;

namespace Sieve.Tests.Models;

// TEMPORARY: a throwaway GGUF→weights mapping until the formats branch lands; replaced by CheckpointLoader.
public class ForwardSmokeTests
{
    static (ModelConfig, ModelWeights, GgufFile) LoadStories()
    {
        var g = GgufFile.Open(Fixtures.Stories260KGguf);
        float[] V(string n) => g.Tensor(n).ToFloat32();
        var c = new ModelConfig
        {
            Architecture = "llama", Dim = 64, LayerCount = 5, HeadCount = 8, KvHeadCount = 4, HeadDim = 8, FfnDim = 172,
            VocabSize = 512, ContextLength = 512, RopeDim = 8,
        };
        var layers = Enumerable.Range(0, 5).Select(i => new LayerWeights
        {
            AttnNorm = V($"blk.{i}.attn_norm.weight"), FfnNorm = V($"blk.{i}.ffn_norm.weight"),
            Wq = g.Tensor($"blk.{i}.attn_q.weight"), Wk = g.Tensor($"blk.{i}.attn_k.weight"), Wv = g.Tensor($"blk.{i}.attn_v.weight"),
            Wo = g.Tensor($"blk.{i}.attn_output.weight"), Gate = g.Tensor($"blk.{i}.ffn_gate.weight"),
            Up = g.Tensor($"blk.{i}.ffn_up.weight"), Down = g.Tensor($"blk.{i}.ffn_down.weight"),
        }).ToArray();
        var w = new ModelWeights { TokenEmbedding = g.Tensor("token_embd.weight"), Layers = layers, OutputNorm = V("output_norm.weight"), Output = g.Tensor("output.weight") };
        w.Validate(c, "stories");
        return (c, w, g);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void GreedyTokensMatchLlama2cOracle(int threads)
    {
        var (c, w, g) = LoadStories();
        using var _ = g;
        using var pool = new WorkerPool(threads);
        var tf = new Transformer(c, w, pool);
        var cache = tf.CreateDenseCache(512);
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.Oracles));
        var expected = doc.RootElement.GetProperty("cases")[0].GetProperty("token_ids_after_bos").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int token = 1;
        var got = new List<int>();
        for (int pos = 0; pos < expected.Length; pos++)
        {
            var logits = tf.Decode(token, pos, cache);
            token = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits);
            got.Add(token);
        }
        Assert.Equal(expected, got);
    }

    [Fact]
    public void PrefillLogitsEqualStepByStepDecode()
    {
        var (c, w, g) = LoadStories();
        using var _ = g;
        using var pool = new WorkerPool(2);
        var tf = new Transformer(c, w, pool);
        int[] prompt = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376];
        var a = tf.CreateDenseCache(64);
        var prefill = tf.Prefill(prompt, 0, a).ToArray();
        var b = tf.CreateDenseCache(64);
        float[] step = [];
        for (int i = 0; i < prompt.Length; i++) step = tf.Decode(prompt[i], i, b).ToArray();
        for (int i = 0; i < prefill.Length; i++) Assert.Equal(step[i], prefill[i], 4);
    }
}
