using Sieve.Cache.Sparse;

namespace Sieve.Cache.Storage;

/// <summary>
/// Where one cache's full-precision rows live: it makes the <see cref="IKvStore"/> of each (layer, KV head) and owns
/// what they share — nothing for RAM, a file for the offloaded tier. One tier per cache (per sequence), disposed
/// with it, so a sequence's file goes when the sequence does.
/// </summary>
public interface IKvTier : IDisposable
{
    /// <param name="rows">Rows to reserve up front (the cache's capacity, or 1 for a layer that keeps nothing here).</param>
    IKvStore CreateStore(int layer, int kvHead, int headDim, KvElement element, bool trackPositions, int rows);
}

/// <summary>Typed data that builds a tier for each new cache (<c>--kv-offload DIR</c> is one).</summary>
public interface IKvTierFactory
{
    string Name { get; }
    IKvTier Create(KvCacheShape shape);
}
