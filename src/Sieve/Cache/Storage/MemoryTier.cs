using Sieve.Cache.Sparse;

namespace Sieve.Cache.Storage;

/// <summary>The default tier: every row in managed arrays (<see cref="HeadStore"/>).</summary>
public sealed class MemoryTier : IKvTier, IKvTierFactory
{
    public static readonly MemoryTier Instance = new();

    public string Name => "memory";
    public IKvTier Create(KvCacheShape shape) => this;

    public IKvStore CreateStore(int layer, int kvHead, int headDim, KvElement element, bool trackPositions, int rows) =>
        new HeadStore(headDim, element, trackPositions, rows);

    public void Dispose() { }
}
