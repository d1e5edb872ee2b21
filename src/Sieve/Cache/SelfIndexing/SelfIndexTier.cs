using Sieve.Cache.Sparse;
using Sieve.Cache.Storage;

namespace Sieve.Cache.SelfIndexing;

/// <summary>
/// Where Self-Indexing keeps a cache's rows: a <see cref="SelfIndexStore"/> per (layer, KV head) — codes, not
/// full-precision rows — with one <see cref="DecodeScratch"/> per KV head shared by the layers.
/// </summary>
public sealed class SelfIndexTier : IKvTierFactory
{
    readonly SelfIndexOptions _options;

    public SelfIndexTier(SelfIndexOptions options)
    {
        if (options.DenseSet < 0) throw new ArgumentException($"the dense set cannot be negative (got {options.DenseSet})");
        if (options.StatisticsTokens < 0) throw new ArgumentException($"StatisticsTokens cannot be negative (got {options.StatisticsTokens})");
        if (options.ExactLast < 1) throw new ArgumentException($"ExactLast must be at least 1 (got {options.ExactLast})");
        _options = options;
    }

    public string Name => "selfindex";
    public IKvTier Create(KvCacheShape shape) => new Tier(_options, shape.KvHeads);

    sealed class Tier(SelfIndexOptions options, int kvHeads) : IKvTier
    {
        readonly DecodeScratch[] _scratch = Enumerable.Range(0, kvHeads).Select(_ => new DecodeScratch()).ToArray();

        public IKvStore CreateStore(int layer, int kvHead, int headDim, KvElement element, bool trackPositions, int rows) =>
            trackPositions ? throw new NotSupportedException("the Self-Indexing store does not evict (it takes no press)")
                : new SelfIndexStore(headDim, rows, options, _scratch[kvHead]);

        public void Dispose() { }
    }
}
