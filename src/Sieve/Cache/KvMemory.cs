namespace Sieve.Cache;

/// <summary>
/// A cache's memory, read off its real buffers. <see cref="BytesPerToken"/> is what one more cached token costs
/// across all layers and KV heads (its per-token storage, not the fixed tables); <see cref="Bytes"/> is everything
/// held now, fixed tables and unused capacity included. A sliding-window layer's ring (a fixed W − 1 + chunk rows)
/// is in <see cref="Bytes"/> and not in <see cref="BytesPerToken"/>: past the window one more token costs it nothing,
/// so for Gemma 3 (5 of 6 layers sliding) the per-token figure counts the global layers only, averaged over all.
/// </summary>
public sealed record KvMemory(long Bytes, double BytesPerToken, int Layers, int KvHeads)
{
    /// <summary>Bytes per cached token per KV head per layer — the unit of the method notes' accounting (F16 K+V, head dim 128: 512 B).</summary>
    public double BytesPerTokenPerHead => BytesPerToken / (Layers * KvHeads);

    /// <summary>Bytes in an offloaded tier (a file), not in RAM; 0 when everything is resident.</summary>
    public long OffloadedBytes { get; init; }
}
