using Sieve.Cache;
using Sieve.Models;
using Sieve.Models.Pop;
using Sieve.Tensors;
using Sieve.Threading;

namespace Sieve.Tests.Pop;

/// <summary>
/// POP's engine side: a KvOnly layer's cached K/V against a reference computed here from the equations, the boundary
/// row at decode depth, and zero skipped layers being the dense model bit for bit.
/// </summary>
public class PopIngestTests
{
    static readonly int[] Prompt = [1, 403, 407, 261, 378, 432, 383, 286, 300, 271];

    /// <summary>Records the residual stream after one layer, per position.</summary>
    sealed class ResidualTap(int layer, int dim) : IForwardHook
    {
        public readonly Dictionary<int, double[]> Rows = [];
        public bool Wants(ActivationSite site, int l) => site == ActivationSite.Residual && l == layer;
        public void OnActivation(ActivationSite site, int l, ForwardStage stage, int startPos, int count, int width, Span<float> values)
        {
            for (int j = 0; j < count; j++) Rows[startPos + j] = values.Slice(j * dim, dim).ToArray().Select(v => (double)v).ToArray();
        }
    }

    /// <summary>
    /// Layer <paramref name="l"/>'s K and V for residual row <paramref name="h"/> at <paramref name="pos"/>, in double:
    /// RMSNorm with the layer's input norm, the K/V projections, bias, per-head K norm, RoPE.
    /// </summary>
    static (float[] K, float[] V) ReferenceKv(ModelConfig c, LayerWeights w, double[] h, int pos)
    {
        Assert.True(c.RopeDim == c.HeadDim && c.RopeScaling == null && c.RopeLinearFactor == 1f && c.SlidingWindow == 0, "the reference covers plain RoPE");
        double ms = h.Sum(v => v * v) / h.Length, s = 1 / Math.Sqrt(ms + c.NormEps);
        var x = h.Select((v, i) => v * s * w.AttnNorm[i]).ToArray();
        double[] Project(WeightTensor t, float[]? bias)
        {
            var f = t.ToFloat32();
            return Enumerable.Range(0, t.Rows).Select(r => Enumerable.Range(0, t.Cols).Sum(i => (double)f[r * t.Cols + i] * x[i]) + (bias?[r] ?? 0)).ToArray();
        }
        var k = Project(w.Wk, w.Bk);
        var v = Project(w.Wv, w.Bv);
        int hd = c.HeadDim;
        for (int head = 0; head < c.KvHeadCount; head++)
        {
            int o = head * hd;
            if (w.KNorm != null)
            {
                double hs = 1 / Math.Sqrt(Enumerable.Range(0, hd).Sum(i => k[o + i] * k[o + i]) / hd + c.NormEps);
                for (int i = 0; i < hd; i++) k[o + i] = k[o + i] * hs * w.KNorm[i];
            }
            for (int i = 0; i < hd / 2; i++)
            {
                double a = pos / Math.Pow(c.RopeTheta, 2.0 * i / hd), cos = Math.Cos(a), sin = Math.Sin(a);
                int i0 = c.RopeStyle == RopeStyle.Interleaved ? 2 * i : i, i1 = c.RopeStyle == RopeStyle.Interleaved ? 2 * i + 1 : i + hd / 2;
                double x0 = k[o + i0], x1 = k[o + i1];
                k[o + i0] = x0 * cos - x1 * sin;
                k[o + i1] = x0 * sin + x1 * cos;
            }
        }
        return (k.Select(d => (float)d).ToArray(), v.Select(d => (float)d).ToArray());
    }

    /// <summary>
    /// POP-prefills the prompt with layers cut.. skipped, then checks: (1) the cached K/V of every skipped layer at
    /// every prefill position equals the reference from the residual after layer cut−1; (2) a cache filled by hand
    /// (dense K/V below the cut, reference K/V from the cut) gives the same boundary logits and the same next decode
    /// steps; (3) those logits differ from dense ones (the cut matters) and from the unhandled boundary's.
    /// </summary>
    static void CheckAgainstHandFilledCache(ForwardRunner tf, int[] prompt, int cut)
    {
        var c = tf.Config;
        int L = c.LayerCount, n = prompt.Length, vocab = c.VocabSize;
        var plan = PopPlan.FromLayerList(L, $"{cut}-{L - 1}");
        var pop = plan.Apply();
        var popCache = tf.CreateDenseCache(n + 4);
        var popLogits = tf.Ingest(prompt, 0, popCache, pop).ToArray();

        // The residual at the cut, and the layers below it, from a dense run of the prefill rows.
        var tap = new ResidualTap(cut - 1, c.Dim);
        var dense = tf.CreateDenseCache(n + 4);
        tf.Forward(prompt.AsSpan(0, n - 1), 0, dense, ForwardStage.Prefill, ForwardRunner.LogitRows.None, ForwardOptions.WithHooks(tap));
        var hand = tf.CreateDenseCache(n + 4);
        for (int l = 0; l < L; l++)
            for (int p = 0; p < n - 1; p++)
            {
                var (k, v) = l < cut ? (dense.KeyRow(l, p).ToArray(), dense.ValueRow(l, p).ToArray()) : ReferenceKv(c, tf.Weights.Layers[l], tap.Rows[p], p);
                if (l >= cut)
                    for (int i = 0; i < c.KvDim; i++)
                    {
                        Assert.True(Math.Abs(popCache.KeyRow(l, p)[i] - k[i]) <= 1e-4f * (1 + Math.Abs(k[i])), $"layer {l} pos {p}: K[{i}] {popCache.KeyRow(l, p)[i]} vs reference {k[i]}");
                        Assert.True(Math.Abs(popCache.ValueRow(l, p)[i] - v[i]) <= 1e-4f * (1 + Math.Abs(v[i])), $"layer {l} pos {p}: V[{i}] {popCache.ValueRow(l, p)[i]} vs reference {v[i]}");
                    }
                hand.Append(l, ForwardStage.Prefill, p, 1, k, v);
            }
        // The boundary row: the last prompt token through every layer against the hand-filled cache.
        var handLogits = tf.Decode(prompt[^1], n - 1, hand).ToArray();
        AssertClose(handLogits, popLogits, "boundary logits");
        for (int t = 0, next = Argmax(popLogits); t < 3; t++)
        {
            var a = tf.Decode(next, n + t, popCache, pop).ToArray();
            var b = tf.Decode(next, n + t, hand).ToArray();
            AssertClose(b, a, $"decode step {t}");
            next = Argmax(a);
        }

        var denseLogits = tf.Ingest(prompt, 0, tf.CreateDenseCache(n)).ToArray();
        Assert.True(MaxDiff(denseLogits, popLogits) > 1e-3, "skipping layers in prefill changed nothing: the test would not see a wrong K/V");
        var noBoundary = tf.Ingest(prompt, 0, tf.CreateDenseCache(n), (plan with { Boundary = PromptBoundary.None }).Apply()).ToArray();
        Assert.True(MaxDiff(noBoundary, popLogits) > 1e-3, "the boundary row was not run at a different depth than --pop-boundary none");
    }

    static int Argmax(float[] x) => Array.IndexOf(x, x.Max());
    static double MaxDiff(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();

    static void AssertClose(float[] expected, float[] actual, string what)
    {
        double scale = expected.Max(Math.Abs);
        double diff = MaxDiff(expected, actual);
        Assert.True(diff <= 1e-4 * (1 + scale), $"{what}: max |Δ| {diff} (scale {scale})");
    }

    [Fact]
    public void KvOnlyLayersOfStories260KCacheTheReferenceKvAndDecodeAsAHandFilledCache()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var tf = m.CreateRunner(4);   // 9 prefill rows: three chunks, so positions cross chunk seams
        CheckAgainstHandFilledCache(tf, Prompt, cut: 2);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void KvOnlyLayersOfAQwenStyleModelCacheTheReferenceKvWithBiasAndQkNorm(bool bias, bool qkNorm)
    {
        using var pool = new WorkerPool(1);
        var tf = new ForwardRunner(new Transformer(QwenStyle(bias, qkNorm, out var weights), weights), pool, maxTokens: 4);
        CheckAgainstHandFilledCache(tf, [3, 17, 5, 39, 0, 22, 11, 8], cut: 1);
    }

    static ModelConfig QwenStyle(bool bias, bool qkNorm, out ModelWeights weights)
    {
        int headDim = 8, dim = 32, ffn = 48, vocab = 40, layers = 3;
        var config = new ModelConfig
        {
            Architecture = "test", Dim = dim, LayerCount = layers, HeadCount = 4, KvHeadCount = 2, HeadDim = headDim,
            RopeDim = headDim, FfnDim = ffn, VocabSize = vocab, ContextLength = 64, RopeStyle = RopeStyle.Neox,
            QkvBias = bias, QkNorm = qkNorm, RopeTheta = 10000f, NormEps = 1e-5f,
        };
        var rng = new Random(bias ? 7 : 11);
        float[] R(int n, float s = 0.3f) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * s).ToArray();
        float[] Norm(int n) => Enumerable.Range(0, n).Select(_ => 1f + (float)(rng.NextDouble() - 0.5) * 0.4f).ToArray();
        WeightTensor M(int rows, int cols) => WeightTensor.FromFloat32("w", R(rows * cols), rows, cols);
        var lw = Enumerable.Range(0, layers).Select(_ => new LayerWeights
        {
            AttnNorm = Norm(dim), FfnNorm = Norm(dim),
            Wq = M(config.QDim, dim), Wk = M(config.KvDim, dim), Wv = M(config.KvDim, dim), Wo = M(dim, config.QDim),
            Gate = M(ffn, dim), Up = M(ffn, dim), Down = M(dim, ffn),
            Bq = bias ? R(config.QDim) : null, Bk = bias ? R(config.KvDim) : null, Bv = bias ? R(config.KvDim) : null,
            QNorm = qkNorm ? Norm(headDim) : null, KNorm = qkNorm ? Norm(headDim) : null,
        }).ToArray();
        weights = new ModelWeights { TokenEmbedding = M(vocab, dim), Layers = lw, OutputNorm = Norm(dim), Output = M(vocab, dim) };
        weights.Validate(config, "qwen-style");
        return config;
    }

    [Fact]
    public void ZeroSkippedLayersIsDenseBitForBit()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var tf = m.CreateRunner(4);
        var none = PopPlan.LastLayers(m.Config.LayerCount, 0);
        Assert.Null(none.Apply().Plan);
        var dense = tf.Ingest(Prompt, 0, tf.CreateDenseCache(16)).ToArray();
        Assert.Equal(tf.Prefill(Prompt, 0, tf.CreateDenseCache(16)).ToArray(), dense);
        Assert.Equal(dense, tf.Ingest(Prompt, 0, tf.CreateDenseCache(16), none.Apply()).ToArray());
        // The same through generation: identical greedy text.
        var g = m.CreateGenerator();
        var opts = new Sieve.Generation.GenerationOptions { MaxTokens = 30, Sampling = Sieve.Generation.SamplingOptions.Greedy, StopAtEndOfGeneration = false };
        string plain = string.Concat(g.Generate(Prompt, opts).Select(t => t.Text));
        Assert.Equal(plain, string.Concat(g.Generate(Prompt, opts with { Forward = none.Apply() }).Select(t => t.Text)));
    }

    [Fact]
    public void SkippingOnlyTheLastLayerInPrefillIsExactWithTheBoundary()
    {
        // The last layer's prefill output feeds only logits no prefill row needs: KvOnly there loses nothing.
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var tf = m.CreateRunner(16);
        var dense = tf.Ingest(Prompt, 0, tf.CreateDenseCache(16)).ToArray();
        var last = tf.Ingest(Prompt, 0, tf.CreateDenseCache(16), PopPlan.LastLayers(m.Config.LayerCount, 1).Apply()).ToArray();
        AssertClose(dense, last, "last layer KvOnly");
    }

    [Fact]
    public void TheBoundaryRowIsTheFullModelGivenThePopCaches()
    {
        // Ingest under POP = the pruned prefill of all but the last token, then one decode step at full depth.
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var tf = m.CreateRunner(16);
        var pop = PopPlan.LastLayers(m.Config.LayerCount, 3).Apply();
        Assert.Equal(Prompt.Length - 1, pop.PrefillRows(Prompt.Length));
        var ingested = tf.Ingest(Prompt, 0, tf.CreateDenseCache(16), pop).ToArray();
        var cache = tf.CreateDenseCache(16);
        tf.Prefill(Prompt.AsSpan(0, Prompt.Length - 1), 0, cache, pop);
        var byHand = tf.Decode(Prompt[^1], Prompt.Length - 1, cache).ToArray();   // no plan: every layer
        Assert.Equal(byHand, ingested);
        // --pop-boundary none: the last token goes through the pruned prefill, so its logits are the pruned model's.
        var none = tf.Ingest(Prompt, 0, tf.CreateDenseCache(16), (pop with { Boundary = PromptBoundary.None })).ToArray();
        Assert.Equal(tf.Prefill(Prompt, 0, tf.CreateDenseCache(16), pop).ToArray(), none);
        Assert.NotEqual(ingested, none);
    }

    [Fact]
    public void ScoringRunsTheContextAsPromptAndTheContinuationAtDecodeDepth()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var tf = m.CreateRunner(16);
        int vocab = m.Config.VocabSize;
        int[] ctx = Prompt[..6], cont = Prompt[6..];
        // Dense: the same numbers as one prefill over the whole text.
        var dense = tf.IngestAndScore(ctx, cont, 0, tf.CreateDenseCache(16));
        var all = tf.PrefillAllLogits(Prompt[..^1], 0, tf.CreateDenseCache(16)).ToArray();
        Assert.Equal(all[((ctx.Length - 1) * vocab)..], dense);
        // POP: rows equal the boundary row, then decode steps, each at full depth.
        var pop = PopPlan.LastLayers(m.Config.LayerCount, 2).Apply();
        var scored = tf.IngestAndScore(ctx, cont, 0, tf.CreateDenseCache(16), pop);
        var cache = tf.CreateDenseCache(16);
        var expected = new List<float>(tf.Ingest(ctx, 0, cache, pop).ToArray());
        for (int i = 0; i < cont.Length - 1; i++) expected.AddRange(tf.Decode(cont[i], ctx.Length + i, cache, pop).ToArray());
        AssertClose(expected.ToArray(), scored, "teacher-forced continuation");
        Assert.True(MaxDiff(dense, scored) > 1e-3);
    }

    [Fact]
    public void PopWorksWithCompressingAndSparseCaches()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var tf = m.CreateRunner(16);
        var pop = PopPlan.LastLayers(m.Config.LayerCount, 2).Apply();
        foreach (var method in new[] { "snapkv", "quest", "streamingllm", "selfindex" })
        {
            var cache = tf.CreateCache(KvCacheSpec.Parse(method, "4") with { Window = 2, Sinks = 1, DenseSet = 2, RecentCap = 2 }, 24);
            var logits = tf.Ingest(Prompt, 0, cache, pop).ToArray();
            for (int t = 0; t < 4; t++) logits = tf.Decode(Argmax(logits), Prompt.Length + t, cache, pop).ToArray();
            Assert.All(logits, v => Assert.True(float.IsFinite(v), $"{method}: a logit is not finite"));
        }
    }
}
