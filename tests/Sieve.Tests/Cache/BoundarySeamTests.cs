using Sieve.Cache;
using Sieve.Cache.Sparse;
using Sieve.Cache.Storage;
using Sieve.Models;

namespace Sieve.Tests.Cache;

/// <summary>
/// The sparse core's seams that Self-Indexing needed, tested with toy stores and selectors: pinned slots, prefill
/// queries handed to selectors and stores at the boundary, and keys read back with an offset under a soft-cap.
/// </summary>
public class BoundarySeamTests
{
    const int Hd = 16;

    static float[] Random(Random rng, int n) => Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray();

    /// <summary>Records what the core hands it; picks the first k candidates that are not pinned.</summary>
    sealed class ToySelector(int[] pinned, int window) : ITokenSelector
    {
        public readonly List<Head> Heads = [];
        public string Name => "toy";
        public int QueryWindow => window;
        public IHeadSelector CreateHead(int layer, int kvHead) { var h = new Head(pinned); Heads.Add(h); return h; }

        public sealed class Head(int[] pinned) : IHeadSelector
        {
            public PressInput? Boundary;
            public (int First, int End, int K)? Asked;
            public ReadOnlySpan<int> Pinned => pinned;
            public void OnBoundary(PressInput boundary) => Boundary = boundary;
            public void Build(IKvStore store) { }
            public void OnAppend(IKvStore store, int slot) { }

            public int Select(IKvStore store, ReadOnlySpan<float> queries, int first, int end, int k, int position, List<int> picked)
            {
                Asked = (first, end, k);
                int n = 0;
                for (int t = first; t < end && n < k; t++)
                    if (!pinned.Contains(t)) { picked.Add(t); n++; }
                return n;
            }
        }
    }

    /// <summary>A store over <see cref="HeadStore"/> that returns keys minus an offset (and may say so), and records its boundary.</summary>
    sealed class OffsetStore(float[] offset, bool declare) : IKvStore, IBoundaryStore
    {
        readonly HeadStore _inner = new(Hd, KvElement.F32, trackPositions: false);
        public PressInput? Boundary;
        public int HeadDim => Hd;
        public KvElement Element => KvElement.F32;
        public int Count => _inner.Count;
        public int PromptCount { get => _inner.PromptCount; set => _inner.PromptCount = value; }
        public int Capacity => _inner.Capacity;
        public int PositionOf(int slot) => slot;
        public int CountUpTo(int position) => _inner.CountUpTo(position);
        public void Add(int position, ReadOnlySpan<float> key, ReadOnlySpan<float> value) => _inner.Add(position, key, value);
        public void ReadKeys(int start, int count, Span<float> output)
        {
            _inner.ReadKeys(start, count, output);
            for (int i = 0; i < count * Hd; i++) output[i] -= offset[i % Hd];
        }
        public void ReadValues(int start, int count, Span<float> output) => _inner.ReadValues(start, count, output);
        public void KeepOnly(ReadOnlySpan<int> slots, int room) => throw new NotSupportedException();
        public void Truncate(int count) => _inner.Truncate(count);
        public int RowBytes => _inner.RowBytes;
        public long Bytes => _inner.Bytes;
        public ReadOnlySpan<float> KeyOffset => declare ? offset : default;
        public void Cross(PressInput boundary) => Boundary = boundary;
    }

    sealed class OffsetTier(float[] offset, bool declare) : IKvTierFactory, IKvTier
    {
        public readonly List<OffsetStore> Stores = [];
        public string Name => "offset";
        public IKvTier Create(KvCacheShape shape) => this;
        public IKvStore CreateStore(int layer, int kvHead, int headDim, KvElement element, bool trackPositions, int rows)
        {
            var s = new OffsetStore(offset, declare);
            Stores.Add(s);
            return s;
        }
        public void Dispose() { }
    }

    static readonly KvCacheShape Shape = new(Layers: 1, Heads: 4, KvHeads: 2, HeadDim: Hd, Capacity: 64);

    static (float[] K, float[] V, float[] Q) Rows(int tokens, int seed)
    {
        var rng = new Random(seed);
        return (Random(rng, tokens * Shape.KvDim), Random(rng, tokens * Shape.KvDim), Random(rng, tokens * Shape.Heads * Hd));
    }

    static float[] Run(SparseKvCache cache, int prompt, int seed)
    {
        var (k, v, q) = Rows(prompt + 1, seed);
        int qDim = Shape.Heads * Hd;
        var output = new float[(prompt + 1) * qDim];
        cache.Append(0, ForwardStage.Prefill, 0, prompt, k, v);
        cache.Attend(0, ForwardStage.Prefill, 0, prompt, q, output);
        cache.Append(0, ForwardStage.Decode, prompt, 1, k.AsSpan(prompt * Shape.KvDim), v.AsSpan(prompt * Shape.KvDim));
        cache.Attend(0, ForwardStage.Decode, prompt, 1, q.AsSpan(prompt * qDim), output.AsSpan(prompt * qDim));
        return output;
    }

    [Fact]
    public void PinnedSlotsAreAttendedUnscoredAndLeftOutOfTheBudget()
    {
        var selector = new ToySelector([2, 5, 30], window: 0);
        var cache = new SparseKvCache(Shape, new SparseKvOptions { Selector = selector, Budget = KvBudget.OfTokens(100), RecentCap = 4, Trace = true });
        Run(cache, prompt: 20, seed: 1);
        foreach (var head in selector.Heads)
        {
            // Candidates are the 20 prompt rows (the decoded row is recent); 2 of them pinned (30 is beyond): 18 left.
            Assert.Equal((0, 20, 18), head.Asked);
        }
        var r = cache.LastSelection(0, 0)!;
        Assert.Equal(Enumerable.Range(0, 20).Except([2, 5]), r.Candidates);
        Assert.Equal(r.Candidates, r.Selected);
        Assert.Equal([2, 5, 20], r.Always);
    }

    [Fact]
    public void SelectorsAndBoundaryStoresGetTheLastPrefillQueries()
    {
        var selector = new ToySelector([], window: 3);
        var tier = new OffsetTier(new float[Hd], declare: false);
        var cache = new SparseKvCache(Shape, new SparseKvOptions { Selector = selector, Tier = tier });
        Run(cache, prompt: 10, seed: 2);
        var (_, _, q) = Rows(11, 2);
        int g = Shape.GroupSize, qDim = Shape.Heads * Hd;
        for (int h = 0; h < Shape.KvHeads; h++)
        {
            foreach (var boundary in new[] { selector.Heads[h].Boundary!, tier.Stores[h].Boundary! })
            {
                Assert.Equal(3, boundary.WindowRows);
                Assert.Equal(g, boundary.GroupSize);
                for (int r = 0; r < 3; r++)   // rows 7, 8, 9: this head's group, oldest first
                    Assert.Equal(q.AsSpan((7 + r) * qDim + h * g * Hd, g * Hd).ToArray(), boundary.WindowQueries.AsSpan(r * g * Hd, g * Hd).ToArray());
            }
        }
    }

    [Fact]
    public void ASoftcapSeesScoresOfKeysReadBackWithAnOffset()
    {
        var shape = Shape with { AttnSoftcap = 1.5f };
        var offset = Random(new Random(3), Hd).Select(x => 3 * x).ToArray();
        float[] Output(IKvTierFactory tier) => RunShape(new SparseKvCache(shape, new SparseKvOptions { Element = KvElement.F32, Tier = tier }), shape);
        var plain = Output(MemoryTier.Instance);
        var declared = Output(new OffsetTier(offset, declare: true));
        var undeclared = Output(new OffsetTier(offset, declare: false));
        for (int i = 0; i < plain.Length; i++) Assert.Equal(plain[i], declared[i], 1e-4);
        Assert.True(plain.Zip(undeclared).Max(p => Math.Abs(p.First - p.Second)) > 1e-2, "an undeclared offset must change capped attention");
    }

    static float[] RunShape(SparseKvCache cache, KvCacheShape shape)
    {
        var (k, v, q) = Rows(12, 4);
        var output = new float[12 * shape.Heads * Hd];
        cache.Append(0, ForwardStage.Prefill, 0, 12, k, v);
        cache.Attend(0, ForwardStage.Prefill, 0, 12, q, output);
        return output;
    }
}
