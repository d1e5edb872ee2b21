using Sieve.Cache;
using Sieve.Models;
using Sieve.Threading;

namespace Sieve.Tests.Models;

/// <summary>
/// A batched step must give every sequence exactly what it would get alone: the matrix products are row-independent
/// (each activation row is quantized and dotted on its own), and RoPE, the cache and attention run per segment.
/// </summary>
public class BatchedForwardTests
{
    /// <summary>One sequence's part in the test: its cache method, the tokens it holds before, and its chunks per step (0 rows: idle that step).</summary>
    sealed record Script(string Method, int Prefix, int[] Chunks, int LogitsFrom = -1, LayerPlan? Plan = null);

    static int[] Tokens(int seed, int n, int vocab)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(i => i == 0 ? 1 : rng.Next(2, vocab)).ToArray();
    }

    /// <summary>
    /// Runs every script's steps alone (one segment per Run) and then all together (step s carries chunk s of every
    /// script that has one), and returns each script's logits per step from both.
    /// </summary>
    static (List<float[]>[] Alone, List<float[]>[] Batched) RunBoth(ForwardRunner runner, Script[] scripts)
    {
        int vocab = runner.Config.VocabSize;
        int[][] tokens = scripts.Select((s, i) => Tokens(100 + i, s.Prefix + s.Chunks.Sum(), vocab)).ToArray();
        int steps = scripts.Max(s => s.Chunks.Length);

        IKvCache[] Caches()
        {
            var caches = new IKvCache[scripts.Length];
            for (int i = 0; i < scripts.Length; i++)
            {
                var spec = KvCacheSpec.Parse(scripts[i].Method, "8") with { DenseSet = 4, RecentCap = 4, Window = 4 };
                caches[i] = runner.CreateCache(spec, tokens[i].Length);
                // The prefix: one prefill, then a decode token, so compressing caches cross their boundary first.
                if (scripts[i].Prefix > 0)
                {
                    var opts = new ForwardOptions { Plan = scripts[i].Plan };
                    runner.Prefill(tokens[i].AsSpan(0, scripts[i].Prefix - 1), 0, caches[i], opts);
                    runner.Decode(tokens[i][scripts[i].Prefix - 1], scripts[i].Prefix - 1, caches[i], opts);
                }
            }
            return caches;
        }

        BatchSegment? Segment(int i, int step, IKvCache cache)
        {
            var s = scripts[i];
            if (step >= s.Chunks.Length || s.Chunks[step] == 0) return null;
            int start = s.Prefix + s.Chunks.Take(step).Sum(), n = s.Chunks[step];
            var stage = s.Prefix > 0 || step > 0 && n == 1 ? ForwardStage.Decode : ForwardStage.Prefill;
            int from = s.LogitsFrom < 0 ? n - 1 : Math.Min(s.LogitsFrom, n);
            return new BatchSegment(cache, tokens[i].AsMemory(start, n), start, stage, from, new ForwardOptions { Plan = s.Plan });
        }

        var alone = scripts.Select(_ => new List<float[]>()).ToArray();
        var aloneCaches = Caches();
        for (int i = 0; i < scripts.Length; i++)
            for (int step = 0; step < steps; step++)
                if (Segment(i, step, aloneCaches[i]) is { } seg)
                {
                    runner.Run([seg]);
                    alone[i].Add(runner.Logits(0).ToArray());
                }

        var batched = scripts.Select(_ => new List<float[]>()).ToArray();
        var caches = Caches();
        for (int step = 0; step < steps; step++)
        {
            var segs = new List<BatchSegment>();
            var owners = new List<int>();
            for (int i = 0; i < scripts.Length; i++)
                if (Segment(i, step, caches[i]) is { } seg) { segs.Add(seg); owners.Add(i); }
            runner.Run(segs.ToArray());
            for (int k = 0; k < owners.Count; k++) batched[owners[k]].Add(runner.Logits(k).ToArray());
        }
        return (alone, batched);
    }

    static readonly Script[] Mixed =
    [
        new("dense", 0, [5, 1, 1, 1]),                          // a prompt, then decode
        new("dense", 9, [1, 1, 1, 1]),                          // decoding from position 9
        new("dense", 0, [3, 4, 2, 1], LogitsFrom: 0),            // chunked prefill, logits for every row
        new("selfindex", 12, [1, 1, 0, 1]),                     // a compressing cache, idle one step
        new("quest", 10, [1, 1, 1]),
        new("streamingllm", 11, [1, 1, 1, 1]),
        new("dense-f16", 0, [7, 1]),
        new("dense", 4, [0, 1, 1], Plan: LayerPlan.Removing(5, [2])),   // a pruned plan beside full ones
    ];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(8)]
    public void EachSequenceOfABatchGetsBitIdenticalLogitsToRunningAlone(int sequences)
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var (alone, batched) = RunBoth(m.CreateRunner(), Mixed.Take(sequences).ToArray());
        for (int i = 0; i < sequences; i++)
        {
            Assert.Equal(alone[i].Count, batched[i].Count);
            for (int s = 0; s < alone[i].Count; s++)
                Assert.True(alone[i][s].AsSpan().SequenceEqual(batched[i][s]), $"sequence {i} ({Mixed[i].Method}), step {s}: logits differ");
        }
    }

    [Theory]
    [InlineData("q8_0")]
    [InlineData("q4_0")]
    [InlineData("q4_k")]
    public void QuantizedWeightsToo(string type)
    {
        // Q8_0 and Q4_0 switch to the 4×4 tiled kernel at 4 rows or more: a decode token alone takes the
        // vector path, eight together take the tile, and the two must agree bit for bit.
        using var m = SieveModel.Load(Fixtures.TinyK(type));
        var scripts = Enumerable.Range(0, 8).Select(i => new Script("dense", 3 + i, [1, 1, 1])).Append(new Script("dense", 0, [6, 2, 1])).ToArray();
        var (alone, batched) = RunBoth(m.CreateRunner(), scripts);
        // With AVX-VNNI, Q8_0/Q4_0 products of 4 rows or more take the prepared-activation 4×4 tile, whose sum
        // order differs from the one-row dot's: equal within 1e-5 there, bit for bit everywhere else.
        bool tile = Sieve.Kernels.Quant.Q8_0Tile.IsSupported && type is "q8_0" or "q4_0";
        for (int i = 0; i < scripts.Length; i++)
            for (int s = 0; s < alone[i].Count; s++)
            {
                if (!tile) { Assert.True(alone[i][s].AsSpan().SequenceEqual(batched[i][s]), $"{type}: sequence {i}, step {s}: logits differ"); continue; }
                float scale = alone[i][s].Max(MathF.Abs);
                for (int v = 0; v < alone[i][s].Length; v++)
                    Assert.True(MathF.Abs(alone[i][s][v] - batched[i][s][v]) <= 1e-5f * scale, $"{type}: sequence {i}, step {s}, logit {v}");
            }
    }

    [Fact]
    public void HooksSeeOnlyTheirOwnSequence()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var runner = m.CreateRunner();
        var a = new Counter();
        var b = new Counter();
        var ca = runner.CreateDenseCache(16);
        var cb = runner.CreateDenseCache(16);
        runner.Run([
            BatchSegment.Prefill(ca, new[] { 1, 400, 401 }, 0, options: ForwardOptions.WithHooks(a)),
            BatchSegment.Prefill(cb, new[] { 1, 402 }, 0, options: ForwardOptions.WithHooks(b, b)),
        ]);
        Assert.Equal([3], a.Rows.Distinct());
        Assert.Equal([2], b.Rows.Distinct());
        Assert.Equal(m.Config.LayerCount, a.Rows.Count);
        Assert.Equal(2 * m.Config.LayerCount, b.Rows.Count);   // two hooks on one call: both called
    }

    sealed class Counter : IForwardHook
    {
        public readonly List<int> Rows = [];
        public bool Wants(ActivationSite site, int layer) => site == ActivationSite.Residual;
        public void OnActivation(ActivationSite site, int layer, ForwardStage stage, int startPos, int count, int width, Span<float> values) => Rows.Add(count);
    }

    [Fact]
    public void ABadSegmentIsRefusedBeforeAnyCacheIsWritten()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var runner = m.CreateRunner(maxTokens: 8);
        var good = runner.CreateDenseCache(16);
        var small = runner.CreateDenseCache(2);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => runner.Run([
            BatchSegment.Prefill(good, new[] { 1, 400 }, 0), BatchSegment.Prefill(small, new[] { 1, 400, 401 }, 0)]));
        Assert.Contains("capacity 2", e.Message);
        Assert.Equal(0, good.Length);
        Assert.Throws<ArgumentException>(() => runner.Run([BatchSegment.Prefill(good, new[] { 1 }, 0), BatchSegment.Decode(good, 5, 1)]));
        var big = Assert.Throws<ArgumentException>(() => runner.Run([BatchSegment.Prefill(good, Enumerable.Repeat(5, 9).ToArray(), 0)]));
        Assert.Contains("exceeds this runner's 8", big.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => runner.Logits(0));   // nothing readable after a refused step
    }

    [Fact]
    public void RunnersOnManyThreadsShareOneModelAndPool()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf, new SieveModelOptions { Threads = 2 });
        int[][] prompts = Enumerable.Range(0, 6).Select(i => Tokens(7 + i, 20 + i, m.Config.VocabSize)).ToArray();
        float[] Alone(int i)
        {
            var r = m.CreateRunner();
            return r.Prefill(prompts[i], 0, r.CreateDenseCache(64)).ToArray();
        }
        var expected = Enumerable.Range(0, prompts.Length).Select(Alone).ToArray();
        var results = new float[prompts.Length][];
        var threads = Enumerable.Range(0, prompts.Length).Select(i => new Thread(() =>
        {
            for (int rep = 0; rep < 20; rep++) results[i] = Alone(i);
        })).ToList();
        threads.ForEach(t => t.Start());
        Assert.All(threads, t => Assert.True(t.Join(TimeSpan.FromMinutes(2)), "a runner thread did not finish"));
        for (int i = 0; i < prompts.Length; i++) Assert.Equal(expected[i], results[i]);
    }

    [Fact]
    public void APoolRegionCannotBeReenteredFromItsOwnWorker()
    {
        using var pool = new WorkerPool(2, oversubscribe: true);
        var inner = new Nested(pool);
        var e = Assert.Throws<AggregateException>(() => pool.Run(inner, 64, 1));
        Assert.IsType<InvalidOperationException>(e.InnerException);
    }

    sealed class Nested(WorkerPool pool) : IRangeWork
    {
        public void Execute(int start, int end)
        {
            Thread.Sleep(1);
            pool.Run(new Nothing(), 8, 1);
        }
    }

    sealed class Nothing : IRangeWork { public void Execute(int start, int end) { } }
}
