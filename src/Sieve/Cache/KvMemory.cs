namespace Sieve.Cache;

/// <summary>
/// A cache's memory, read off its real buffers. <see cref="BytesPerToken"/> is what one more cached token costs
/// across all layers and KV heads (its per-token storage, not the fixed tables); <see cref="Bytes"/> is everything
/// held now, fixed tables and unused capacity included.
/// </summary>
public sealed record KvMemory(long Bytes, double BytesPerToken, int Layers, int KvHeads)
{
    /// <summary>Bytes per cached token per KV head per layer — the unit of the method notes' accounting (F16 K+V, head dim 128: 512 B).</summary>
    public double BytesPerTokenPerHead => BytesPerToken / (Layers * KvHeads);
}
