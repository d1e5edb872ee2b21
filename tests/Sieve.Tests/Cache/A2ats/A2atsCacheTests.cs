using Sieve.A2ats;
using Sieve.Cache;
using Sieve.Cache.A2ats;
using Sieve.Cache.Sparse;
using Sieve.Kernels;
using Sieve.Models;

namespace Sieve.Tests.Cache.A2ats;

public class A2atsCacheTests
{
    /// <summary>Double-precision RoPE of one head, written from the formula (interleaved pairs, base θ).</summary>
    static double[] RotateReference(ReadOnlySpan<float> x, int pos, double theta, bool neox)
    {
        int d = x.Length, half = d / 2;
        var y = x.ToArray().Select(v => (double)v).ToArray();
        for (int i = 0; i < half; i++)
        {
            double freq = 1.0 / Math.Pow(theta, 2.0 * i / d), a = pos * freq, c = Math.Cos(a), s = Math.Sin(a);
            int i0 = neox ? i : 2 * i, i1 = neox ? i + half : 2 * i + 1;
            double u = y[i0], v = y[i1];
            y[i0] = u * c - v * s;
            y[i1] = u * s + v * c;
        }
        return y;
    }

    /// <summary>Codebooks in which every key of <paramref name="keys"/> (pre-RoPE, per head) is its own centroid: codes are exact.</summary>
    static A2atsCodebooks ExactCodebooks(float[][] keysPerHead, int layers, int kvHeads, int hd, int window = 2048)
    {
        var heads = new List<VqCodebook>();
        for (int i = 0; i < layers * kvHeads; i++)
        {
            var keys = keysPerHead[i % keysPerHead.Length];
            heads.Add(VqCodebook.Fit(keys, keys.Length / hd, hd, QueryAwareMetric.Identity(hd), new KMeansOptions { Clusters = keys.Length / hd }));
        }
        return new A2atsCodebooks(heads, layers, kvHeads) { Window = window, ModelName = "test", ModelFingerprint = "test" };
    }

    [Theory]
    [InlineData(RopeStyle.Interleaved)]
    [InlineData(RopeStyle.Neox)]
    public void FarTokensRankByTheWindowedLogitAndNearOnesAttendExactly(RopeStyle style)
    {
        // One layer, 4 query heads on 1 KV head, head dim 16; 300 tokens, each key its own centroid, so the code's
        // score is the windowed logit itself: (R_W q_pre)·k_pre / √d, whatever the token's distance.
        const int hd = 16, n = 300, W = 2048;
        var rope = new Rope(hd, hd, style, 10000f);
        var shape = new KvCacheShape(Layers: 1, Heads: 4, KvHeads: 1, HeadDim: hd, Capacity: 400) { Ropes = [rope] };
        var rng = new Random(3);
        float R() => (float)(rng.NextDouble() * 2 - 1);
        var pre = Enumerable.Range(0, n * hd).Select(_ => R()).ToArray();
        var books = ExactCodebooks([pre], 1, 1, hd, W);
        var cache = (SparseKvCache)(KvCacheSpec.Parse("a2ats", "100%") with { Codebooks = books, Element = KvElement.F32, Trace = true }).Create(shape, null);
        var post = (float[])pre.Clone();
        for (int t = 0; t < n; t++) rope.Apply(post.AsSpan(t * hd, hd), 1, t);
        cache.Append(0, ForwardStage.Prefill, 0, n - 1, post, Enumerable.Range(0, n * hd).Select(_ => R()).ToArray());
        cache.Append(0, ForwardStage.Decode, n - 1, 1, post.AsSpan((n - 1) * hd), Enumerable.Range(0, hd).Select(_ => R()).ToArray());
        var qPre = Enumerable.Range(0, 4 * hd).Select(_ => R()).ToArray();
        var q = (float[])qPre.Clone();
        rope.Apply(q, 4, n - 1);
        var head = (A2atsSelector.Head)cache.Selector(0, 0)!;
        var scores = new float[n];
        for (int g = 0; g < 4; g++)
        {
            head.Scores(q.AsSpan(g * hd, hd), n - 1, scores);
            var qw = RotateReference(qPre.AsSpan(g * hd, hd), W, 10000, style == RopeStyle.Neox);
            for (int t = 0; t < n; t++)
            {
                double expected = 0;
                for (int j = 0; j < hd; j++) expected += qw[j] * pre[t * hd + j];
                Assert.Equal(expected / Math.Sqrt(hd), scores[t], 1e-4);
            }
        }
        // The step's attention: sinks 0..7 and the window n−64..n−1 always, exact over RoPE'd rows. At 100% every
        // candidate is picked, so the output is dense attention.
        var output = new float[4 * hd];
        cache.Attend(0, ForwardStage.Decode, n - 1, 1, q, output);
        var record = cache.LastSelection(0, 0)!;
        Assert.Equal(Enumerable.Range(0, 8).Concat(Enumerable.Range(n - 64, 64)), record.Always);
        Assert.Equal(Enumerable.Range(8, n - 64 - 8), record.Candidates);
        var dense = new SparseKvCache(shape, new SparseKvOptions { Element = KvElement.F32 });
        for (int t = 0; t < n; t++) dense.Append(0, t < n - 1 ? ForwardStage.Prefill : ForwardStage.Decode, t, 1, post.AsSpan(t * hd, hd), cache.Store(0, 0) is var s ? Read(s, t, hd) : null!);
        var expectedOut = new float[4 * hd];
        dense.Attend(0, ForwardStage.Decode, n - 1, 1, q, expectedOut);
        for (int i = 0; i < output.Length; i++) Assert.Equal(expectedOut[i], output[i], 1e-5);
    }

    static float[] Read(IKvStore s, int slot, int hd)
    {
        var v = new float[hd];
        s.ReadValue(slot, v);
        return v;
    }

    [Fact]
    public void EachQueryHeadPicksItsOwnTopKAndTheGroupAttendsTheUnion()
    {
        const int hd = 8, n = 500;
        var rope = new Rope(hd, hd, RopeStyle.Interleaved, 10000f);
        var shape = new KvCacheShape(Layers: 1, Heads: 2, KvHeads: 1, HeadDim: hd, Capacity: 600) { Ropes = [rope] };
        var rng = new Random(5);
        float R() => (float)(rng.NextDouble() * 2 - 1);
        var pre = Enumerable.Range(0, n * hd).Select(_ => R()).ToArray();
        var post = (float[])pre.Clone();
        for (int t = 0; t < n; t++) rope.Apply(post.AsSpan(t * hd, hd), 1, t);
        var books = ExactCodebooks([pre], 1, 1, hd);
        var cache = (SparseKvCache)(KvCacheSpec.Parse("a2ats", "10") with { Codebooks = books, Trace = true }).Create(shape, null);
        cache.Append(0, ForwardStage.Prefill, 0, n - 1, post, new float[n * hd]);
        cache.Append(0, ForwardStage.Decode, n - 1, 1, post.AsSpan((n - 1) * hd), new float[hd]);
        var q = Enumerable.Range(0, 2 * hd).Select(_ => R()).ToArray();
        cache.Attend(0, ForwardStage.Decode, n - 1, 1, q, new float[2 * hd]);
        var head = (A2atsSelector.Head)cache.Selector(0, 0)!;
        var expected = new SortedSet<int>();
        var scores = new float[n];
        for (int g = 0; g < 2; g++)
        {
            head.Scores(q.AsSpan(g * hd, hd), n - 1, scores);
            foreach (int t in Enumerable.Range(8, n - 64 - 8).OrderByDescending(t => scores[t]).Take(10)) expected.Add(t);
        }
        Assert.Equal(expected, cache.LastSelection(0, 0)!.Selected);
        Assert.InRange(expected.Count, 10, 20);
    }

    [Fact]
    public void CalibratedOnStoriesItDecodesAndAtFullBudgetItIsDense()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var runner = m.Runner();
        var text = File.ReadAllText(Path.Combine(Fixtures.Dir, "stories260K-sample", "story.txt"));
        var docs = new List<int[]> { m.Tokenizer.Encode(text), UuidText.Tokens(m.Tokenizer, 256) };
        var books = A2atsCalibrator.Calibrate(runner, docs, new A2atsCalibrationSettings { Centroids = 64, MaxIterations = 20 }, "stories260K.gguf", m.Transformer.Fingerprint, null);
        Assert.Equal(m.Config.LayerCount, books.LayerCount);
        Assert.Equal(64, books.Centroids);
        var prompt = m.Tokenizer.Encode("Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends.");
        float[] Last(KvCacheSpec spec, int steps)
        {
            var cache = runner.CreateCache(spec, prompt.Length + steps + 1);
            float[] logits = runner.Prefill(prompt, 0, cache).ToArray();
            for (int i = 0; i < steps; i++) logits = runner.Decode(300 + i, prompt.Length + i, cache).ToArray();
            Assert.All(logits, x => Assert.True(float.IsFinite(x)));
            return logits;
        }
        var dense = Last(KvCacheSpec.Parse("dense-f16"), 4);
        var full = Last(KvCacheSpec.Parse("a2ats", "100%") with { Codebooks = books }, 4);
        for (int i = 0; i < dense.Length; i++) Assert.Equal(dense[i], full[i], 2e-3);
        Last(KvCacheSpec.Parse("a2ats") with { Codebooks = books }, 4);   // 3%: a few tokens a head
    }

    [Fact]
    public void CodebooksOfAnotherModelAreRefused()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var c = m.Config;
        var books = ExactCodebooks([new float[c.HeadDim * 4]], c.LayerCount, c.KvHeadCount, c.HeadDim);
        var e = Assert.Throws<InvalidDataException>(() => m.Runner().CreateCache(KvCacheSpec.Parse("a2ats") with { Codebooks = books }, 16));
        Assert.Contains("codebooks were fitted for model test", e.Message);
        Assert.Throws<ArgumentException>(() => m.Runner().CreateCache(KvCacheSpec.Parse("a2ats"), 16));   // none given
    }
}

public class CodeTopKTests
{
    [Theory]
    [InlineData(1, 100, 7, 16, 1)]
    [InlineData(4, 1000, 30, 64, 2)]
    [InlineData(8, 5000, 150, 4096, 3)]
    [InlineData(8, 300, 299, 16, 4)]     // k just under n: almost every token
    [InlineData(3, 2000, 50, 8, 5)]      // 8 codes: thresholds always fall inside a code (ties by position)
    [InlineData(4, 6000, 180, 4096, -6)] // signed continuous values with ±0 (negative seed: that value grid)
    [InlineData(2, 3000, 1400, 64, -7)]  // k near the positive count: the threshold at or near zero
    public void TheUnionOfEachHeadsTopKEqualsScoringEveryTokenWithTheHeap(int groups, int n, int k, int codesUsed, int seed)
    {
        var rng = new Random(Math.Abs(seed));
        int lutLength = 4096;
        var codes = Enumerable.Range(0, n).Select(_ => (ushort)rng.Next(codesUsed)).ToArray();
        var luts = new float[groups * lutLength];
        // Values on a coarse grid, so distinct codes tie too; or signed values with ties only at −0 = +0 (the radix
        // selection keys floats by their bits, so the two zeros must still count as one value).
        for (int i = 0; i < luts.Length; i++)
            luts[i] = seed >= 0 ? rng.Next(40) / 4f
                : rng.Next(10) == 0 ? (rng.Next(2) == 0 ? -0f : 0f) : (float)(rng.NextDouble() * 2 - 1);
        var picked = new List<int>();
        int got = new CodeTopK().Select(codes, luts, lutLength, groups, k, 10, picked);
        var expected = new SortedSet<int>();
        for (int g = 0; g < groups; g++)
        {
            var scores = codes.Select(c => luts[g * lutLength + c]).ToArray();
            foreach (int t in TopK.SelectScalar(scores, k)) expected.Add(10 + t);
        }
        Assert.Equal(expected, picked);
        Assert.Equal(expected.Count, got);
    }
}
