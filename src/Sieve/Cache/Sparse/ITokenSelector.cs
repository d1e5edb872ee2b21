namespace Sieve.Cache.Sparse;

/// <summary>
/// The decode-time seam kvpress lacks: at every decode step, score the cached tokens of one KV head, keep the top
/// K, attend exactly over those. Quest, Self-Indexing and A²ATS all have this shape. A selector makes one
/// <see cref="IHeadSelector"/> per (layer, KV head) to hold its index.
/// </summary>
public interface ITokenSelector
{
    string Name { get; }
    IHeadSelector CreateHead(int layer, int kvHead);
}

/// <summary>One KV head's index: built at the prefill/decode boundary, kept current as rows are appended.</summary>
public interface IHeadSelector
{
    void Build(HeadStore store);
    void OnAppend(HeadStore store, int slot);

    /// <summary>
    /// Picks up to <paramref name="k"/> of slots [0, <paramref name="candidates"/>) for the GQA-averaged query
    /// <paramref name="query"/> at <paramref name="position"/>; returns how many were written (a page-based selector may
    /// round up to whole pages).
    /// </summary>
    int Select(HeadStore store, ReadOnlySpan<float> query, int candidates, int k, int position, List<int> picked);
}
