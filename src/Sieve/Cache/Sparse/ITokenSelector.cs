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
    void Build(IKvStore store);
    void OnAppend(IKvStore store, int slot);

    /// <summary>
    /// Picks up to <paramref name="k"/> of slots [<paramref name="first"/>, <paramref name="end"/>) (ascending, into
    /// <paramref name="picked"/>) for the query at <paramref name="position"/>; returns how many were written (a
    /// page-based selector may round up to whole pages; a per-query-head selector returns the union over the group).
    /// </summary>
    /// <param name="queries">Every query head of this KV head's group, post-RoPE, head dim apart (G × HeadDim): a
    /// selector may rank by their mean (<see cref="GroupQuery.Mean"/>), per head, or however its method says.</param>
    int Select(IKvStore store, ReadOnlySpan<float> queries, int first, int end, int k, int position, List<int> picked);
}
