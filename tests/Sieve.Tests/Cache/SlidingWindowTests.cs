using Sieve.Cache;
using Sieve.Cache.SelfIndexing;
using Sieve.Cache.Sparse;
using Sieve.Eval;
using Sieve.Generation;
using Sieve.Kernels;
using Sieve.Models;

namespace Sieve.Tests.Cache;

/// <summary>
/// Sliding-window layers (Gemma 2/3, Mistral) and Gemma 2's attention soft-cap in every KV cache, against a naive
/// double-precision attention over the same keys, values and queries: a sliding layer's query at p sees p − W + 1..p
/// and nothing else, in prefill chunks and in decode; global layers behave as they did without windows; a ring's
/// memory stays put as the context grows; truncation and prefix copies never attend over overwritten rows.
/// </summary>
public class SlidingWindowTests
{
    // Five layers: 0 and 2 slide (windows 8 and 5), 1 and 4 are global, 3's window equals the capacity (never bites: global).
    const int Capacity = 48;
    static readonly int[] Windows = [8, 0, 5, Capacity, 0];
    static KvCacheShape Shape(float softcap = 0, int[]? windows = null, int capacity = Capacity) =>
        new(Layers: 5, Heads: 4, KvHeads: 2, HeadDim: 16, capacity) { Windows = windows ?? Windows, AttnSoftcap = softcap, Ropes = Ropes };

    /// <summary>A²ATS takes keys back to pre-RoPE with the layer's RoPE; the other caches ignore it.</summary>
    static readonly Sieve.Kernels.Rope[] Ropes = Enumerable.Repeat(new Sieve.Kernels.Rope(16, 16, RopeStyle.Interleaved, 10000f), 5).ToArray();

    /// <summary>A²ATS's codebooks for the shape: 16 random centroids per (layer, KV head) under the identity metric.</summary>
    static readonly Sieve.Cache.A2ats.A2atsCodebooks Books = new(Enumerable.Range(0, 10).Select(i =>
    {
        var rng = new Random(i);
        var keys = Enumerable.Range(0, 16 * 16).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        return Sieve.Cache.A2ats.VqCodebook.Fit(keys, 16, 16, Sieve.Cache.A2ats.QueryAwareMetric.Identity(16), new Sieve.Cache.A2ats.KMeansOptions { Clusters = 16 });
    }).ToList(), 5, 2) { ModelName = "test", ModelFingerprint = "test" };

    /// <summary>Prefill in three uneven chunks (one longer than either window), then decode one position at a time.</summary>
    static readonly (int Start, int Count, ForwardStage Stage)[] Schedule =
        [(0, 13, ForwardStage.Prefill), (13, 7, ForwardStage.Prefill), (20, 9, ForwardStage.Prefill),
         .. Enumerable.Range(29, Capacity - 29).Select(p => (p, 1, ForwardStage.Decode))];

    /// <summary>Random post-RoPE keys, values and queries for every layer and position.</summary>
    sealed class Feed
    {
        public readonly float[][] K, V, Q;   // [layer][pos·kvDim] and [layer][pos·qDim]
        public readonly KvCacheShape Shape;

        /// <param name="keyOffset">Added to every key channel: a large median the self-index cache centres away.</param>
        public Feed(KvCacheShape shape, int seed, float keyOffset = 0, float queryScale = 1)
        {
            Shape = shape;
            var rng = new Random(seed);
            float R() => (float)(rng.NextDouble() * 2 - 1);
            int n = shape.Capacity, kvDim = shape.KvDim, qDim = shape.Heads * shape.HeadDim;
            K = new float[shape.Layers][]; V = new float[shape.Layers][]; Q = new float[shape.Layers][];
            for (int l = 0; l < shape.Layers; l++)
            {
                K[l] = Enumerable.Range(0, n * kvDim).Select(_ => R() + keyOffset).ToArray();
                V[l] = Enumerable.Range(0, n * kvDim).Select(_ => R()).ToArray();
                Q[l] = Enumerable.Range(0, n * qDim).Select(_ => R() * queryScale).ToArray();
            }
        }

        /// <summary>Runs the schedule through the cache (append, then attend, layer by layer); every row's output per layer.</summary>
        public float[][] Run(IKvCache cache, IEnumerable<(int Start, int Count, ForwardStage Stage)>? schedule = null)
        {
            int kvDim = Shape.KvDim, qDim = Shape.Heads * Shape.HeadDim;
            var outputs = Enumerable.Range(0, Shape.Layers).Select(_ => new float[Shape.Capacity * qDim]).ToArray();
            foreach (var (start, count, stage) in schedule ?? Schedule)
                for (int l = 0; l < Shape.Layers; l++)
                {
                    cache.Append(l, stage, start, count, K[l].AsSpan(start * kvDim, count * kvDim), V[l].AsSpan(start * kvDim, count * kvDim));
                    cache.Attend(l, stage, start, count, Q[l].AsSpan(start * qDim, count * qDim), outputs[l].AsSpan(start * qDim, count * qDim));
                }
            return outputs;
        }

        /// <summary>
        /// Naive attention of row <paramref name="pos"/> of a layer in double precision: keys first..pos, scores scaled by
        /// 1/√headDim, soft-capped, softmax, weighted sum. <paramref name="half"/>: K and V rounded to F16 first.
        /// </summary>
        public double[] Reference(int layer, int pos, int first, float softcap, bool half = false)
        {
            int hd = Shape.HeadDim, kvDim = Shape.KvDim, g = Shape.GroupSize;
            float Round(float x) => half ? (float)(Half)x : x;
            var result = new double[Shape.Heads * hd];
            for (int h = 0; h < Shape.Heads; h++)
            {
                int kvh = h / g, n = pos - first + 1;
                var s = new double[n];
                for (int t = 0; t < n; t++)
                {
                    double dot = 0;
                    for (int d = 0; d < hd; d++) dot += Q[layer][pos * Shape.Heads * hd + h * hd + d] * (double)Round(K[layer][(first + t) * kvDim + kvh * hd + d]);
                    s[t] = dot / Math.Sqrt(hd);
                    if (softcap > 0) s[t] = softcap * Math.Tanh(s[t] / softcap);
                }
                double max = s.Max(), sum = s.Sum(x => Math.Exp(x - max));
                for (int t = 0; t < n; t++)
                {
                    double p = Math.Exp(s[t] - max) / sum;
                    for (int d = 0; d < hd; d++) result[h * hd + d] += p * Round(V[layer][(first + t) * kvDim + kvh * hd + d]);
                }
            }
            return result;
        }
    }

    /// <summary>Small budgets, so selectors and presses really select and evict on the global layers.</summary>
    static KvCacheSpec Spec(string method, string budget = "4") =>
        KvCacheSpec.Parse(method, budget) with { DenseSet = 2, RecentCap = 4, Window = 4, Sinks = 2, Codebooks = method == "a2ats" ? Books : null };

    static void AssertRow(double[] expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"{what}: element {i} is {actual[i]}, expected {expected[i]:G9}");
    }

    public static TheoryData<string, float> MethodsAndCaps()
    {
        var data = new TheoryData<string, float>();
        foreach (var m in KvCacheSpec.Methods) { data.Add(m, 0); data.Add(m, 2); }
        return data;
    }

    [Theory]
    [MemberData(nameof(MethodsAndCaps))]
    public void SlidingLayersAttendExactlyWithinTheirWindowInEveryCache(string method, float softcap)
    {
        var shape = Shape(softcap);
        var feed = new Feed(shape, seed: 1, queryScale: 3);
        var outputs = feed.Run(Spec(method).Create(shape, null));
        int qDim = shape.Heads * shape.HeadDim;
        foreach (int l in new[] { 0, 2 })
        {
            Assert.True(shape.WindowLimits(l));
            for (int pos = 0; pos < Capacity; pos++)
                AssertRow(feed.Reference(l, pos, shape.FirstVisible(l, pos), softcap), outputs[l].AsSpan(pos * qDim, qDim), 2e-5, $"{method}, layer {l}, position {pos}");
        }

        // Global layers are exactly what the same method gives without any window (layer 3's window never bites).
        var global = new Feed(Shape(softcap, windows: [0, 0, 0, 0, 0]), seed: 1, queryScale: 3).Run(Spec(method).Create(Shape(softcap, windows: [0, 0, 0, 0, 0]), null));
        foreach (int l in new[] { 1, 3, 4 }) Assert.Equal(global[l], outputs[l]);
    }

    [Fact]
    public void ARingGrowsWhenALargerChunkArrivesAndKeepsWhatItHeld()
    {
        var shape = Shape(softcap: 3);
        var feed = new Feed(shape, seed: 13, queryScale: 2);
        var cache = new DenseKvCache(shape);
        (int, int, ForwardStage)[] growing = [(0, 3, ForwardStage.Prefill), (3, 2, ForwardStage.Prefill), (5, 6, ForwardStage.Prefill),
            (11, 1, ForwardStage.Decode), (12, 15, ForwardStage.Prefill), (27, 4, ForwardStage.Prefill), .. Enumerable.Range(31, 17).Select(p => (p, 1, ForwardStage.Decode))];
        var outputs = feed.Run(cache, growing);
        Assert.Equal(8 - 1 + 15, cache.RingRows(0));
        Assert.Equal(5 - 1 + 15, cache.RingRows(2));
        int qDim = shape.Heads * shape.HeadDim;
        for (int l = 0; l < shape.Layers; l++)
            for (int pos = 0; pos < Capacity; pos++)
                AssertRow(feed.Reference(l, pos, shape.FirstVisible(l, pos), 3), outputs[l].AsSpan(pos * qDim, qDim), 2e-5, $"layer {l}, position {pos}");
    }

    [Fact]
    public void AKeyOutsideTheWindowChangesNothingAndOneInsideDoes()
    {
        var shape = Shape();
        var feed = new Feed(shape, seed: 2);
        int qDim = shape.Heads * shape.HeadDim, kvDim = shape.KvDim, pos = 40;
        var before = feed.Run(new DenseKvCache(shape));
        feed.K[0][(pos - 8) * kvDim + 3] += 5;   // just outside layer 0's window of 8 at position 40
        var outside = feed.Run(new DenseKvCache(shape));
        Assert.Equal(before[0].AsSpan(pos * qDim, qDim).ToArray(), outside[0].AsSpan(pos * qDim, qDim).ToArray());
        feed.K[0][(pos - 7) * kvDim + 3] += 5;   // its oldest key
        var inside = feed.Run(new DenseKvCache(shape));
        Assert.NotEqual(before[0].AsSpan(pos * qDim, qDim).ToArray(), inside[0].AsSpan(pos * qDim, qDim).ToArray());
    }

    /// <summary>Soft-cap in the final exact attention of every cache that attends to everything at a 100% budget.</summary>
    [Theory]
    [InlineData("dense", 1e-5)]
    [InlineData("dense-f16", 1e-4)]
    [InlineData("quest", 1e-4)]
    [InlineData("exact-topk", 1e-4)]
    [InlineData("random", 1e-4)]
    [InlineData("streamingllm", 1e-4)]
    [InlineData("snapkv", 1e-4)]
    [InlineData("knorm", 1e-4)]
    [InlineData("selfindex-f16", 1e-2)]   // F16 copies of median-centred keys: other roundings than F16 of the keys
    public void SoftcapMatchesTheNaiveReference(string method, double tolerance)
    {
        const float cap = 2;
        var shape = Shape(cap, windows: [0, 0, 0, 0, 0]);
        // Keys offset by 2 per channel: the self-index cache attends over k − median, and must put q·median back
        // before capping (the soft-cap, unlike the softmax, is not shift-invariant).
        var feed = new Feed(shape, seed: 3, keyOffset: 2, queryScale: 3);
        var outputs = feed.Run(Spec(method, "100%").Create(shape, null));
        int qDim = shape.Heads * shape.HeadDim;
        double capEffect = 0;
        for (int l = 0; l < shape.Layers; l++)
            for (int pos = 0; pos < Capacity; pos++)
            {
                var expected = feed.Reference(l, pos, 0, cap, half: method != "dense");
                AssertRow(expected, outputs[l].AsSpan(pos * qDim, qDim), tolerance, $"{method}, layer {l}, position {pos}");
                var uncapped = feed.Reference(l, pos, 0, 0, half: method != "dense");
                capEffect = Math.Max(capEffect, expected.Zip(uncapped).Max(x => Math.Abs(x.First - x.Second)));
            }
        Assert.True(capEffect > 0.1, $"the cap changes outputs by {capEffect}: enough to tell");
    }

    [Fact]
    public void SoftcapKernelAgreesWithItsDefinition()
    {
        var rng = new Random(4);
        for (int n = 0; n <= 40; n++)
        {
            var x = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 200 - 100)).ToArray();
            if (n > 3) { x[1] = float.PositiveInfinity; x[2] = float.NegativeInfinity; x[3] = 0; }
            var a = x.ToArray();
            var b = x.ToArray();
            Softcap.Apply(a, 50);
            Softcap.Scalar(b, 50);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(b[i], a[i], 1e-4);
                Assert.InRange(a[i], -50f, 50f);
            }
        }
    }

    [Theory]
    [MemberData(nameof(AllMethods))]
    public void RingMemoryStaysBoundedAsTheContextGrows(string method)
    {
        // Every layer slides (window 16) in a cache of 512 positions: its memory is the rings, W − 1 + 8 rows each.
        var shape = Shape(windows: [16, 16, 16, 16, 16], capacity: 512);
        var feed = new Feed(shape, seed: 5);
        var cache = Spec(method).Create(shape, null);
        var schedule = Enumerable.Range(0, 8).Select(i => (i * 8, 8, ForwardStage.Prefill))
            .Concat(Enumerable.Range(64, 512 - 64).Select(p => (p, 1, ForwardStage.Decode))).ToList();
        long atPrefill = 0;
        int step = 0;
        var qDim = shape.Heads * shape.HeadDim;
        var output = new float[8 * qDim];
        foreach (var (start, count, stage) in schedule)
        {
            for (int l = 0; l < shape.Layers; l++)
            {
                cache.Append(l, stage, start, count, feed.K[l].AsSpan(start * shape.KvDim, count * shape.KvDim), feed.V[l].AsSpan(start * shape.KvDim, count * shape.KvDim));
                cache.Attend(l, stage, start, count, feed.Q[l].AsSpan(start * qDim, count * qDim), output);
            }
            if (++step == 8) atPrefill = cache.Memory.Bytes;
        }
        long expected = DenseKvCache.MaxBytes(shape, chunk: 8);
        Assert.Equal(5L * (16 - 1 + 8) * 2 * shape.KvDim * sizeof(float), expected);
        Assert.Equal(expected, atPrefill);               // after 64 positions
        Assert.Equal(expected, cache.Memory.Bytes);      // after 512: the rings did not grow with the context
        Assert.Equal(0, cache.Memory.BytesPerToken);     // one more token costs nothing once the rings are full
    }

    public static TheoryData<string> AllMethods() => new(KvCacheSpec.Methods);

    [Fact]
    public void GlobalLayersGrowWithTheContextRingsDoNot()
    {
        long Bytes(int capacity)
        {
            var cache = new DenseKvCache(Shape(windows: [8, 0, 5, 0, 0], capacity: capacity));
            var feed = new Feed(cache.Shape, seed: 6);
            feed.Run(cache, [(0, 13, ForwardStage.Prefill), (13, 1, ForwardStage.Decode)]);
            return cache.Memory.Bytes;
        }
        var shape = Shape(windows: [8, 0, 5, 0, 0]);
        long row = 2L * shape.KvDim * sizeof(float);
        // Layers 1, 3 and 4 hold every position of the capacity; the rings of layers 0 and 2 hold W − 1 + 13 rows either way.
        Assert.Equal(3 * 100 * row, Bytes(148) - Bytes(48));
        Assert.Equal(3 * 48 * row + (8 - 1 + 13 + 5 - 1 + 13) * row, Bytes(48));
        Assert.Equal(3.0 * row, new DenseKvCache(shape).Memory.BytesPerToken);
        Assert.Equal(5 * 48 * row, DenseKvCache.MaxBytes(shape, 512));   // a ring of W − 1 + 512 rows is capped at the capacity
    }

    [Fact]
    public void TruncatingARingKeepsWhatItHoldsAndDropsToNothingOtherwise()
    {
        var shape = Shape();
        var feed = new Feed(shape, seed: 7);
        var cache = new DenseKvCache(shape);
        feed.Run(cache, Schedule.Take(3));                // 29 positions in chunks of ≤ 13: layer 0's ring is 8 − 1 + 13 = 20 rows
        Assert.Equal(20, cache.RingRows(0));
        Assert.Equal(9, cache.HeldFrom(0));              // 29 − 20
        Assert.Throws<InvalidOperationException>(() => cache.Keys(0));
        Assert.Equal(feed.K[0].AsSpan(12 * shape.KvDim, shape.KvDim).ToArray(), cache.KeyRow(0, 12).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.KeyRow(0, 8));

        // Back to 20: the next query at 20 sees 13..19 on layer 0 (still held); new rows from there attend exactly.
        cache.Truncate(20);
        Assert.Equal(20, cache.Length);
        var changed = new Feed(shape, seed: 8);
        for (int l = 0; l < shape.Layers; l++) Array.Copy(feed.K[l], changed.K[l], 20 * shape.KvDim);
        for (int l = 0; l < shape.Layers; l++) Array.Copy(feed.V[l], changed.V[l], 20 * shape.KvDim);
        var outputs = changed.Run(cache, [(20, 9, ForwardStage.Prefill), (29, 1, ForwardStage.Decode)]);
        int qDim = shape.Heads * shape.HeadDim;
        for (int pos = 20; pos < 30; pos++)
            foreach (int l in new[] { 0, 1, 2 })
                AssertRow(changed.Reference(l, pos, shape.FirstVisible(l, pos), 0), outputs[l].AsSpan(pos * qDim, qDim), 2e-5, $"layer {l}, position {pos}");

        // Back to 10: a query at 10 sees 3..9, long overwritten: the cache forgets everything rather than attend over stale rows.
        Assert.False(cache.RingsHold(10));
        cache.Truncate(10);
        Assert.Equal(0, cache.Length);
        Assert.Equal(0, cache.HeldFrom(0));

        // A caller that goes on at position 30 anyway gets an error, not attention over rows that are not there.
        var k = feed.K[0].AsSpan(30 * shape.KvDim, shape.KvDim);
        cache.Append(0, ForwardStage.Decode, 30, 1, k, k);
        var ex = Assert.Throws<InvalidOperationException>(() => cache.Attend(0, ForwardStage.Decode, 30, 1, feed.Q[0].AsSpan(0, qDim), new float[qDim]));
        Assert.Contains("ring holds positions 30..30", ex.Message);
    }

    [Fact]
    public void ASequenceReusesAPrefixOnlyWhileItsRingsHoldIt()
    {
        var shape = Shape();
        var feed = new Feed(shape, seed: 9);
        var prompt = Enumerable.Range(100, 29).ToArray();
        Sequence Filled()
        {
            var s = new Sequence(new DenseKvCache(shape));
            feed.Run(s.Cache, Schedule.Take(3));
            s.Stored(prompt);
            return s;
        }
        var a = Filled();
        Assert.Equal(24, a.ReusePrefix([.. prompt[..24], 7, 8]));   // the ring still holds 17..23 for the query at 24
        var b = Filled();
        Assert.Equal(0, b.ReusePrefix([.. prompt[..12], 7, 8]));    // 5..11 are gone: prefill everything again
        Assert.Equal(0, b.Position);
        Assert.Equal(0, b.Cache.Length);
    }

    [Fact]
    public void PrefixCopiesTakeTheWindowOrRefuse()
    {
        var shape = Shape();
        var feed = new Feed(shape, seed: 10);
        var source = new DenseKvCache(shape);
        feed.Run(source, Schedule.Take(3));   // rings hold 9..28 (layer 0: 8 − 1 + 13 rows) and 12..28 (layer 2: 5 − 1 + 13)

        var copy = new DenseKvCache(shape);
        Assert.True(copy.CanCopyPrefix(source, 25));
        copy.CopyPrefixFrom(source, 25);
        Assert.Equal(25, copy.Length);
        Assert.Equal(18, copy.HeldFrom(0));   // the window before 25
        var outputs = feed.Run(copy, [(25, 4, ForwardStage.Prefill), (29, 1, ForwardStage.Decode)]);
        int qDim = shape.Heads * shape.HeadDim;
        for (int pos = 25; pos < 30; pos++)
            for (int l = 0; l < shape.Layers; l++)
                AssertRow(feed.Reference(l, pos, shape.FirstVisible(l, pos), 0), outputs[l].AsSpan(pos * qDim, qDim), 2e-5, $"layer {l}, position {pos}");

        var late = new DenseKvCache(shape);
        Assert.False(late.CanCopyPrefix(source, 15));   // layer 0 at 15 needs 8.., the source holds 9..
        Assert.Throws<InvalidOperationException>(() => late.CopyPrefixFrom(source, 15));
        Assert.Equal(0, late.Length);

        var mine = new Sequence(late);
        var theirs = new Sequence(source);
        theirs.Stored(Enumerable.Range(0, 29).ToArray());
        Assert.False(mine.TryCopyPrefix(theirs, 15));     // the scheduler then prefills
        Assert.True(mine.TryCopyPrefix(theirs, 26));
        Assert.Equal(26, mine.Position);
    }

    [Fact]
    public void EveryCacheStartsOverWhenATruncationReachesPastItsRings()
    {
        var shape = Shape();
        foreach (var method in KvCacheSpec.Methods)
        {
            var feed = new Feed(shape, seed: 11);
            var cache = Spec(method).Create(shape, null);
            var first = feed.Run(cache);
            cache.Truncate(10);   // layer 0's ring (8 − 1 + 13 rows) has long moved past 3..9
            Assert.Equal(0, cache.Length);
            var again = feed.Run(cache);
            for (int l = 0; l < shape.Layers; l++) Assert.Equal(first[l], again[l]);
        }
    }

    [Fact]
    public void FidelityMetricsTreatASlidingLayerAsItsWindow()
    {
        var shape = Shape();
        var feed = new Feed(shape, seed: 12);
        var fidelity = new KvFidelity(new SelfIndexKvCache(shape, new SelfIndexOptions { Budget = KvBudget.OfTokens(4), DenseSet = 2, RecentCap = 4, Trace = true }), shape);
        feed.Run(fidelity);
        var layers = fidelity.Layers();
        foreach (int l in new[] { 0, 2 })
        {
            Assert.Equal(1.0, layers[l].Mass, 5);      // exact attention over the window holds all of the window's mass
            Assert.Equal(1.0, layers[l].Cosine, 5);
            Assert.Equal(l == 0 ? 8 : 5, layers[l].AttendedTokens);
        }
        Assert.True(layers[1].Mass < 1, "a global layer really selects");
    }
}
