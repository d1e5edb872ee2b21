using Sieve.Formats;
using Sieve.Formats.Conversion;
using Sieve.Models;
using Sieve.Tensors;
using Sieve.Threading;
using Sieve.Tokenization;

namespace Sieve.Tests.Models;

/// <summary>
/// Gemma 2 and Gemma 3 against the naive double-precision transformer (<see cref="NaiveReferenceTests.Naive"/>), on
/// random models small enough to read but shaped to catch mistakes: heads × head dim ≠ embedding, a window shorter
/// than the prompt, prefill in chunks that straddle it, query scalar ≠ head dim, soft-caps tight enough to bend the
/// logits, Gemma 3's two RoPE bases with linear scaling on the global layers, norms far from 1.
/// </summary>
public class GemmaReferenceTests
{
    internal static ModelConfig Config(string arch) => Gemma.Apply(new ModelConfig
    {
        Architecture = arch, Dim = 24, LayerCount = 4, HeadCount = 4, KvHeadCount = 2, HeadDim = 8, RopeDim = 8,
        FfnDim = 40, VocabSize = 48, ContextLength = 64, NormEps = 1e-6f, RopeTheta = arch == "gemma3" ? 1_000_000f : 10000f,
        SlidingWindow = 3, SlidingLayers = Gemma.Pattern(4, arch == "gemma3" ? 4 : 2), QueryPreAttnScalar = 6, RopeLinearFactor = arch == "gemma3" ? 8f : 1f,
    }, arch) with
    {
        // Caps tight enough that tanh bends the values these small weights produce (Gemma 2's own are 50 and 30).
        AttnLogitSoftcap = arch == "gemma2" ? 0.8f : 0,
        FinalLogitSoftcap = arch == "gemma2" ? 1.5f : 0,
    };

    internal static ModelWeights Weights(ModelConfig c, int seed)
    {
        var rng = new Random(seed);
        float[] R(int n, float s = 0.3f) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * s).ToArray();
        // Stored as Sieve holds them, 1 + w: far enough from 1 that a lost or doubled offset shows.
        float[] Norm(int n) => Enumerable.Range(0, n).Select(_ => 1f + (float)(rng.NextDouble() - 0.5) * 0.8f).ToArray();
        WeightTensor M(int rows, int cols) => WeightTensor.FromFloat32("w", R(rows * cols), rows, cols);
        var layers = Enumerable.Range(0, c.LayerCount).Select(_ => new LayerWeights
        {
            AttnNorm = Norm(c.Dim), FfnNorm = Norm(c.Dim), PostAttnNorm = Norm(c.Dim), PostFfnNorm = Norm(c.Dim),
            Wq = M(c.QDim, c.Dim), Wk = M(c.KvDim, c.Dim), Wv = M(c.KvDim, c.Dim), Wo = M(c.Dim, c.QDim),
            Gate = M(c.FfnDim, c.Dim), Up = M(c.FfnDim, c.Dim), Down = M(c.Dim, c.FfnDim),
            QNorm = c.QkNorm ? Norm(c.HeadDim) : null, KNorm = c.QkNorm ? Norm(c.HeadDim) : null,
        }).ToArray();
        var emb = M(c.VocabSize, c.Dim);
        var w = new ModelWeights { TokenEmbedding = emb, Layers = layers, OutputNorm = Norm(c.Dim), Output = emb };
        w.Validate(c, "test");
        return w;
    }

    static readonly int[] Tokens = [3, 17, 5, 39, 0, 22, 11, 47, 8];

    [Theory]
    [InlineData("gemma2")]
    [InlineData("gemma3")]
    public void PrefillInChunksAndDecodeMatchTheNaiveTransformer(string arch)
    {
        var c = Config(arch);
        Assert.True(c.IsSliding(0) && !c.IsSliding(c.LayerCount - 1) && c.QDim != c.Dim);   // the premises this test is about
        var w = Weights(c, arch.Length);
        var naive = NaiveReferenceTests.Naive(c, w, Tokens);
        using var pool = new WorkerPool(2);
        var tf = new ForwardRunner(new Transformer(c, w), pool, maxTokens: 4);   // 9 tokens: chunks of 4, 4, 1

        var all = tf.PrefillAllLogits(Tokens, 0, tf.CreateDenseCache(16)).ToArray();
        AssertClose(naive, all, $"{arch} prefill");

        // Prefill 5 then decode one token at a time: each decode row attends through the window of its own position.
        var cache = tf.CreateDenseCache(16);
        tf.Prefill(Tokens.AsSpan(0, 5), 0, cache);
        for (int t = 5; t < Tokens.Length; t++)
        {
            var logits = tf.Decode(Tokens[t], t, cache).ToArray();
            AssertClose(naive.AsSpan(t * c.VocabSize, c.VocabSize).ToArray(), logits, $"{arch} decode at {t}");
        }
    }

    [Fact]
    public void GemmaBlockSpecsSayWhichLayersSlide()
    {
        var g3 = new Transformer(ShapePreset.Get("gemma3-1b").ToConfig(), new ModelWeights
        {
            TokenEmbedding = WeightTensor.FromFloat32("e", new float[1], 1, 1), Layers = [], OutputNorm = [], Output = WeightTensor.FromFloat32("e", new float[1], 1, 1),
        });
        var global = g3.Blocks.Where(b => !b.IsSliding).Select(b => b.Layer).ToArray();
        Assert.Equal([5, 11, 17, 23], global);
        Assert.All(g3.Blocks.Where(b => b.IsSliding), b => Assert.Equal((512, 10000f), (b.Window, b.RopeTheta)));
        Assert.All(g3.Blocks.Where(b => !b.IsSliding), b => Assert.Equal(1_000_000f, b.RopeTheta));
        Assert.All(g3.Blocks, b => Assert.Equal((FfnActivation.GeluTanh, true, true), (b.Activation, b.SandwichNorms, b.QkNorm)));

        var g2 = ShapePreset.Get("gemma2-2b").ToConfig();
        Assert.Equal(Enumerable.Range(0, 26).Select(l => l % 2 == 0), Enumerable.Range(0, 26).Select(g2.IsSliding));
        Assert.Equal((50f, 30f, 4096, 256f), (g2.AttnLogitSoftcap, g2.FinalLogitSoftcap, g2.SlidingWindow, g2.QueryPreAttnScalar));
        Assert.Equal(MathF.Sqrt(2304), g2.EmbeddingScale);
    }

    static float[] Logits(LoadedCheckpoint ck)
    {
        using var pool = new WorkerPool(2);
        var tf = new ForwardRunner(new Transformer(ck.Config, ck.Weights), pool, maxTokens: 4);
        return tf.PrefillAllLogits(Tokens, 0, tf.CreateDenseCache(16)).ToArray();
    }

    [Theory]
    [InlineData("gemma2")]
    [InlineData("gemma3")]
    public void ConvertedGgufAndHuggingFaceFolderGiveTheSameLogits(string arch)
    {
        var c = Config(arch);
        var w = Weights(c, 7 + arch.Length);
        var reference = Logits(new LoadedCheckpoint { Config = c, Weights = w, Path = arch, Format = "random" });
        var dir = Fixtures.TempDir();
        try
        {
            var gguf = Path.Combine(dir, "m.gguf");
            var hf = Path.Combine(dir, "hf");
            var src = new LoadedCheckpoint { Config = c, Weights = w, Path = arch, Format = "random" };
            ModelConverter.ToGguf(src, NoTokenizer, GgmlType.F32, gguf);
            ModelConverter.ToHuggingFace(src, hf);
            using (var g = CheckpointLoader.Load(gguf))
            {
                AssertSameSemantics(c, g.Config);
                AssertClose(reference, Logits(g), $"{arch} GGUF");
            }
            using (var h = CheckpointLoader.Load(hf))
            {
                AssertSameSemantics(c, h.Config);
                AssertClose(reference, Logits(h), $"{arch} HF");
                // And back: HF → GGUF, the (1 + w) fold undone and redone.
                ModelConverter.ToGguf(h, NoTokenizer, GgmlType.F32, Path.Combine(dir, "back.gguf"));
            }
            using (var b = CheckpointLoader.Load(Path.Combine(dir, "back.gguf"))) AssertClose(reference, Logits(b), $"{arch} HF → GGUF");
        }
        finally { Directory.Delete(dir, true); }
    }

    static readonly Dictionary<string, object> NoTokenizer = [];

    static void AssertSameSemantics(ModelConfig a, ModelConfig b)
    {
        Assert.Equal((a.Architecture, a.Activation, a.SandwichNorms, a.QkNorm, a.EmbeddingScale, a.AttnLogitSoftcap, a.FinalLogitSoftcap),
            (b.Architecture, b.Activation, b.SandwichNorms, b.QkNorm, b.EmbeddingScale, b.AttnLogitSoftcap, b.FinalLogitSoftcap));
        Assert.Equal((a.SlidingWindow, a.QueryPreAttnScalar, a.SlidingRopeTheta, a.RopeLinearFactor, a.RopeTheta, a.RopeStyle),
            (b.SlidingWindow, b.QueryPreAttnScalar, b.SlidingRopeTheta, b.RopeLinearFactor, b.RopeTheta, b.RopeStyle));
        Assert.Equal(a.SlidingLayers, b.SlidingLayers);
    }

    static void AssertClose(double[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst < 1e-4, $"{what}: max |Δlogit| = {worst}");
    }

    static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        float worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = MathF.Max(worst, MathF.Abs(expected[i] - actual[i]));
        Assert.True(worst < 1e-4f, $"{what}: max |Δlogit| = {worst}");
    }
}
