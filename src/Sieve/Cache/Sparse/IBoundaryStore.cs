namespace Sieve.Cache.Sparse;

/// <summary>
/// A store that changes form at the prefill/decode boundary: Self-Indexing's compressed store picks its dense set
/// there (the prompt tokens scoring highest against the last prompt query) and codes what it still held exactly.
/// The cache calls <see cref="Cross"/> after any press and before the selector heads are built.
/// </summary>
public interface IBoundaryStore
{
    /// <param name="boundary">This head's last prefill queries (as many as the press or the selector asked for; none
    /// when neither did, or when no prefill row attended).</param>
    void Cross(PressInput boundary);
}

/// <summary>A store that can become a copy of another of its kind (one prompt's cache expanded to B sequences)
/// without reading its rows back as F32: a compressed store's rows would be re-coded from their dequantised values.</summary>
public interface ICopyableStore
{
    void CopyFrom(IKvStore source);
}
