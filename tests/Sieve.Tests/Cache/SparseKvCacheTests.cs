using Sieve.Cache;
using Sieve.Cache.Sparse;
using Sieve.Models;

namespace Sieve.Tests.Cache;

public class SparseKvCacheTests
{
    static readonly int[] Prompt = [1, 403, 407, 261, 378, 432, 383, 260, 275, 290, 261, 300, 310, 320, 330, 340, 350, 360, 370, 380,
        390, 400, 410, 420, 430, 440, 450, 460, 470, 480, 490, 500, 271, 281, 291, 301, 311, 321, 331, 341];

    /// <summary>Prefill the prompt, decode a few more tokens; the logits of every decode step.</summary>
    static List<float[]> Run(SieveModel m, IKvCache cache, int decode = 6)
    {
        var steps = new List<float[]> { m.Runner().Prefill(Prompt, 0, cache).ToArray() };
        for (int i = 0; i < decode; i++) steps.Add(m.Runner().Decode(300 + i * 7, Prompt.Length + i, cache).ToArray());
        return steps;
    }

    static IKvCache Create(SieveModel m, KvCacheSpec spec) => m.Runner().CreateCache(spec, Prompt.Length + 8);

    [Fact]
    public void DenseF16FollowsDenseF32WithinHalfPrecision()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var a = Run(m, m.Runner().CreateDenseCache(Prompt.Length + 8));
        var b = Run(m, Create(m, KvCacheSpec.Parse("dense-f16")));
        for (int s = 0; s < a.Count; s++)
            for (int i = 0; i < a[s].Length; i++) Assert.Equal(a[s][i], b[s][i], 0.02);
        var f32 = Run(m, Create(m, KvCacheSpec.Parse("dense-f16") with { Method = "exact-topk", Budget = KvBudget.OfFraction(1), Element = KvElement.F32 }));
        for (int s = 0; s < a.Count; s++)
            for (int i = 0; i < a[s].Length; i++) Assert.Equal(a[s][i], f32[s][i], 1e-3);   // every token selected: dense again
    }

    [Theory]
    [InlineData("quest")]
    [InlineData("exact-topk")]
    [InlineData("random")]
    [InlineData("selfindex-f16")]
    public void ASelectorWhoseBudgetCoversEverythingIsDense(string method)
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var dense = Run(m, Create(m, KvCacheSpec.Parse("dense-f16")));
        var sparse = Run(m, Create(m, KvCacheSpec.Parse(method, "100%") with { DenseSet = 4 }));
        // The self-index rows are F16 copies of the median-centred keys: other roundings, the same attention.
        double tolerance = method == "selfindex-f16" ? 0.02 : 2e-3;
        for (int s = 0; s < dense.Count; s++)
            for (int i = 0; i < dense[s].Length; i++) Assert.Equal(dense[s][i], sparse[s][i], tolerance);
    }

    [Fact]
    public void QuestPageBoundsAreUpperBoundsOfEveryScoreInThePage()
    {
        var rng = new Random(2);
        var store = new HeadStore(16, KvElement.F32, trackPositions: false);
        for (int t = 0; t < 100; t++)
            store.Add(t, Enumerable.Range(0, 16).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray(), new float[16]);
        var head = new QuestSelector().CreateHead(0, 0);
        head.Build(store);
        var q = Enumerable.Range(0, 16).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray();
        var picked = new List<int>();
        int n = head.Select(store, q, 0, 100, 32, 100, picked);
        Assert.Equal(32, n);                                    // two whole pages
        // U(page) = Σ_j max(q_j·min_j, q_j·max_j), recomputed here: it bounds every score in its page, and the picked
        // pages are the two with the highest U.
        var key = new float[16];
        var bound = new double[7];
        for (int page = 0; page < 7; page++)
        {
            var rows = Enumerable.Range(page * 16, Math.Min(16, 100 - page * 16)).Select(t => { var k = new float[16]; store.ReadKey(t, k); return k; }).ToList();
            for (int j = 0; j < 16; j++) bound[page] += Math.Max(q[j] * rows.Min(r => r[j]), q[j] * rows.Max(r => r[j]));
            foreach (var r in rows) Assert.True(r.Zip(q).Sum(p => p.First * p.Second) <= bound[page] + 1e-5);
        }
        var top = Enumerable.Range(0, 7).OrderByDescending(p => bound[p]).Take(2).Order();
        Assert.Equal(top, picked.Select(s => s / 16).Distinct().Order());
    }

    [Fact]
    public void PressesKeepTheirBudgetAndShrinkTheCache()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        int budget = 12;
        foreach (var method in new[] { "streamingllm", "snapkv", "knorm" })
        {
            var cache = (SparseKvCache)Create(m, KvCacheSpec.Parse(method, budget.ToString()) with { Window = 8 });
            m.Runner().Prefill(Prompt, 0, cache);
            long before = cache.Memory.Bytes;
            m.Runner().Decode(300, Prompt.Length, cache);
            for (int l = 0; l < m.Config.LayerCount; l++)
                for (int h = 0; h < m.Config.KvHeadCount; h++)
                {
                    var store = cache.Store(l, h);
                    Assert.Equal(budget + 1, store.Count);                       // the kept prompt + the decoded token
                    Assert.Equal(Prompt.Length, store.PositionOf(store.Count - 1));
                    if (method == "streamingllm")
                        Assert.Equal([0, 1, 2, 3, 32, 33, 34, 35, 36, 37, 38, 39, 40], Enumerable.Range(0, store.Count).Select(store.PositionOf));
                    if (method == "snapkv")   // the observation window (the last 8 prompt tokens) always stays
                        Assert.All(Enumerable.Range(32, 8), p => Assert.Contains(p, Enumerable.Range(0, store.Count).Select(store.PositionOf)));
                }
            Assert.True(cache.Memory.Bytes < before, $"{method}: memory after the press");
        }
        // AdaKV: a layer's heads share budget × heads tokens, each keeping at least a fifth of the budget.
        var ada = (SparseKvCache)Create(m, KvCacheSpec.Parse("snapkv", "10") with { Window = 4, AdaptiveHeadBudgets = true });
        m.Runner().Prefill(Prompt, 0, ada);
        m.Runner().Decode(300, Prompt.Length, ada);
        for (int l = 0; l < m.Config.LayerCount; l++)
        {
            var counts = Enumerable.Range(0, m.Config.KvHeadCount).Select(h => ada.Store(l, h).Count - 1).ToList();
            Assert.Equal(10 * m.Config.KvHeadCount, counts.Sum());
            Assert.All(counts, c => Assert.True(c >= 2));
        }
    }

    [Fact]
    public void BudgetsParseAsCountsOrFractions()
    {
        Assert.Equal(KvBudget.OfTokens(100), KvBudget.Parse("100"));
        Assert.Equal(KvBudget.OfFraction(0.25), KvBudget.Parse("25%"));
        Assert.Equal(KvBudget.OfFraction(0.25), KvBudget.Parse("0.25"));
        Assert.Equal(128, KvBudget.OfFraction(0.25).Resolve(512, 1000));
        Assert.Equal(50, KvBudget.OfTokens(100).Resolve(512, 50));
        Assert.Throws<ArgumentException>(() => KvBudget.Parse("lots"));
        Assert.Throws<ArgumentException>(() => KvBudget.Parse("0"));
        Assert.Throws<ArgumentException>(() => KvCacheSpec.Parse("nonsense"));
    }

    [Theory]
    [InlineData("exact-topk")]
    [InlineData("quest")]
    [InlineData("selfindex")]
    public void RowsAfterTheBoundaryAttendInParallelAsTheyDoSerially(string method)
    {
        // A prefill chunk after the boundary (a second prompt): many rows of one KV head run on several workers.
        var shape = new KvCacheShape(Layers: 1, Heads: 8, KvHeads: 2, HeadDim: 16, Capacity: 600);
        var rng = new Random(4);
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var (k0, v0, q0) = (Rand(500 * 32), Rand(500 * 32), Rand(500 * 128));
        var (k1, v1, q1) = (Rand(32), Rand(32), Rand(128));
        var (k2, v2, q2) = (Rand(64 * 32), Rand(64 * 32), Rand(64 * 128));
        float[] Run(Sieve.Threading.WorkerPool? pool)
        {
            var cache = KvCacheSpec.Parse(method, "40").Create(shape, pool);
            cache.Append(0, ForwardStage.Prefill, 0, 500, k0, v0);
            cache.Attend(0, ForwardStage.Prefill, 0, 500, q0, new float[500 * 128]);
            cache.Append(0, ForwardStage.Decode, 500, 1, k1, v1);
            cache.Attend(0, ForwardStage.Decode, 500, 1, q1, new float[128]);
            cache.Append(0, ForwardStage.Prefill, 501, 64, k2, v2);
            var output = new float[64 * 128];
            cache.Attend(0, ForwardStage.Prefill, 501, 64, q2, output);
            return output;
        }
        using var pool = new Sieve.Threading.WorkerPool(4, oversubscribe: true);
        var serial = Run(null);
        for (int i = 0; i < 5; i++) Assert.Equal(serial, Run(pool));
    }

    [Fact]
    public void SnapKvKeepsTheNewestWindowTokensAndFallsBackToRecencyWithoutQueries()
    {
        var shape = new KvCacheShape(Layers: 1, Heads: 2, KvHeads: 1, HeadDim: 8, Capacity: 200);
        var rng = new Random(9);
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        // Budget 8 < window 16: the 8 newest prompt tokens stay.
        var cache = (SparseKvCache)(KvCacheSpec.Parse("snapkv", "8") with { Window = 16 }).Create(shape, null);
        cache.Append(0, ForwardStage.Prefill, 0, 100, Rand(800), Rand(800));
        cache.Attend(0, ForwardStage.Prefill, 0, 100, Rand(1600), new float[1600]);
        cache.Append(0, ForwardStage.Decode, 100, 1, Rand(8), Rand(8));
        Assert.Equal(Enumerable.Range(92, 9), Enumerable.Range(0, 9).Select(cache.Store(0, 0).PositionOf));
        // A layer that never attended in prefill (a KV-only layer): no votes, so the most recent tokens.
        var silent = (SparseKvCache)KvCacheSpec.Parse("snapkv", "10").Create(shape, null);
        silent.Append(0, ForwardStage.Prefill, 0, 100, Rand(800), Rand(800));
        silent.Append(0, ForwardStage.Decode, 100, 1, Rand(8), Rand(8));
        Assert.Equal(Enumerable.Range(90, 11), Enumerable.Range(0, 11).Select(silent.Store(0, 0).PositionOf));
    }

    [Fact]
    public void EveryMethodDecodesFromAnEmptyCache()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        foreach (var method in KvCacheSpec.Methods.Where(x => x != "a2ats"))   // A²ATS needs codebooks: A2atsCacheTests
        {
            var cache = m.Runner().CreateCache(KvCacheSpec.Parse(method, "4"), 8);
            for (int p = 0; p < 6; p++)
                Assert.All(m.Runner().Decode(300 + p, p, cache).ToArray(), x => Assert.True(float.IsFinite(x), method));
        }
    }

    [Fact]
    public void SinksAndTheLocalWindowAreAlwaysAttendedAndNeverOfferedToTheSelector()
    {
        var shape = new KvCacheShape(Layers: 1, Heads: 4, KvHeads: 2, HeadDim: 8, Capacity: 300);
        var rng = new Random(12);
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var cache = new SparseKvCache(shape, new SparseKvOptions
        {
            Element = KvElement.F32, Selector = new ExactTopKSelector(), Budget = KvBudget.OfTokens(10), RecentCap = 0,
            Sinks = 8, LocalWindow = 64, Trace = true,
        });
        cache.Append(0, ForwardStage.Prefill, 0, 200, Rand(200 * 16), Rand(200 * 16));
        cache.Attend(0, ForwardStage.Prefill, 0, 200, Rand(200 * 32), new float[200 * 32]);
        for (int pos = 200; pos < 203; pos++)
        {
            cache.Append(0, ForwardStage.Decode, pos, 1, Rand(16), Rand(16));
            cache.Attend(0, ForwardStage.Decode, pos, 1, Rand(32), new float[32]);
            for (int h = 0; h < 2; h++)
            {
                var r = cache.LastSelection(0, h)!;
                // Forced: positions 0..7 and pos−63..pos; candidates: everything between; 10 picked among them.
                Assert.Equal(Enumerable.Range(0, 8).Concat(Enumerable.Range(pos - 63, 64)), r.Always);
                Assert.Equal(Enumerable.Range(8, pos - 63 - 8), r.Candidates);
                Assert.Equal(10, r.Selected.Length);
                Assert.All(r.Selected, p => Assert.InRange(p, 8, pos - 64));
            }
        }
    }

    [Theory]
    [InlineData("quest")]
    [InlineData("snapkv")]
    public void ACopiedCacheDecodesExactlyAsItsSource(string method)
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var source = (SparseKvCache)Create(m, KvCacheSpec.Parse(method, "8"));
        m.Runner().Prefill(Prompt, 0, source);
        m.Runner().Decode(300, Prompt.Length, source);
        var copy = (SparseKvCache)Create(m, KvCacheSpec.Parse(method, "8"));
        copy.CopyFrom(source);
        Assert.Equal(source.Length, copy.Length);
        for (int i = 1; i < 5; i++)
            Assert.Equal(m.Runner().Decode(300 + i, Prompt.Length + i, source).ToArray(), m.Runner().Decode(300 + i, Prompt.Length + i, copy).ToArray());
    }
}
