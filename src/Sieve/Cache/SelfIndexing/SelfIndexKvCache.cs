using Sieve.Cache.Sparse;
using Sieve.Models;
using Sieve.Threading;

namespace Sieve.Cache.SelfIndexing;

/// <summary>
/// The Self-Indexing KV cache (Xu Yang et al., arXiv 2603.14224; method notes §1.3): keys kept as sign bits plus
/// 2-bit magnitudes, values as 2-bit codes, and the same sign bits are the index that picks which tokens each
/// decode step attends to. It is <see cref="SparseKvCache"/> with a <see cref="SelfIndexTier"/> (the compressed
/// stores) and a <see cref="SelfIndexSelector"/>; <see cref="Create"/> builds that, and this class only wraps it
/// under the method's name.
/// </summary>
/// <remarks>
/// The core supplies the rest: prefill attends densely over what the stores return, the boundary (a layer's first
/// decode-stage append) hands each store and selector head the last prompt queries, each later row attends per KV
/// head to the dense set (pinned), the top-K compressed tokens and the tokens appended since the boundary (the most
/// recent <see cref="SelfIndexOptions.RecentCap"/>), exactly over the dequantised rows; sliding-window layers keep
/// exact ring buffers; a soft-cap sees the scores the median centring shifted (<see cref="IKvStore.KeyOffset"/>).
/// </remarks>
public sealed class SelfIndexKvCache : IKvCache, ISelectionTrace, IDisposable
{
    readonly SparseKvCache _core;

    public SelfIndexKvCache(KvCacheShape shape, SelfIndexOptions options, WorkerPool? pool = null)
    {
        Options = options;
        _core = Create(shape, options, pool);
    }

    /// <summary>The Self-Indexing cache as the sparse core builds it (what <c>--kv selfindex</c> makes).</summary>
    public static SparseKvCache Create(KvCacheShape shape, SelfIndexOptions options, WorkerPool? pool = null) =>
        new(shape, SparseOptions(options), pool);

    public static SparseKvOptions SparseOptions(SelfIndexOptions options) => new()
    {
        Selector = new SelfIndexSelector(options),
        Tier = new SelfIndexTier(options),
        Budget = options.Budget,
        RecentCap = options.RecentCap,
        Trace = options.Trace,
    };

    public SelfIndexOptions Options { get; }
    public SparseKvCache Core => _core;
    public int Length => _core.Length;
    public int Capacity => _core.Capacity;
    public KvMemory Memory => _core.Memory;
    /// <summary>The ring-buffered store of the sliding layers, or null when every layer is global.</summary>
    public DenseKvCache? SlidingStore => _core.SlidingStore;
    /// <summary>A global layer's store of one KV head.</summary>
    public SelfIndexStore Store(int layer, int kvHead) => (SelfIndexStore)_core.Store(layer, kvHead);

    public void Append(int layer, ForwardStage stage, int startPos, int count, ReadOnlySpan<float> k, ReadOnlySpan<float> v) =>
        _core.Append(layer, stage, startPos, count, k, v);

    public void Attend(int layer, ForwardStage stage, int startPos, int count, ReadOnlySpan<float> q, Span<float> output) =>
        _core.Attend(layer, stage, startPos, count, q, output);

    public void Truncate(int length) => _core.Truncate(length);
    public SelectionRecord? LastSelection(int layer, int kvHead) => _core.LastSelection(layer, kvHead);
    public void Dispose() => _core.Dispose();
}
