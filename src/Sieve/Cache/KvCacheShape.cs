namespace Sieve.Cache;

/// <summary>The sizes a cache needs from the model.</summary>
public sealed record KvCacheShape(int Layers, int Heads, int KvHeads, int HeadDim, int Capacity)
{
    public int KvDim => KvHeads * HeadDim;
    public int GroupSize => Heads / KvHeads;
    public static KvCacheShape Of(Models.ModelConfig c, int capacity) => new(c.LayerCount, c.HeadCount, c.KvHeadCount, c.HeadDim, capacity);
}
