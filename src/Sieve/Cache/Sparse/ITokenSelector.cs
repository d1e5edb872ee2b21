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
    /// <summary>Prefill queries per layer the cache keeps for <see cref="IHeadSelector.OnBoundary"/> (and for a boundary
    /// store): 0 for none. Self-Indexing asks for 1 (the last prompt query picks its dense set), or 64 for its Hamming
    /// ablation, whose query is centred by their median.</summary>
    int QueryWindow => 0;
}

/// <summary>One KV head's index: built at the prefill/decode boundary, kept current as rows are appended.</summary>
public interface IHeadSelector
{
    void Build(IKvStore store);
    void OnAppend(IKvStore store, int slot);

    /// <summary>Called once at the prefill/decode boundary, before <see cref="Build"/> (which a truncation may call
    /// again), with the last prefill queries the selector asked for (<see cref="ITokenSelector.QueryWindow"/>).</summary>
    void OnBoundary(PressInput boundary) { }

    /// <summary>
    /// Slots this head always attends and never scores, ascending (Self-Indexing's dense set: the prompt tokens kept in
    /// F16); empty for most selectors. The cache attends them after the sinks, leaves them out of the candidates it
    /// counts for the budget, and traces them as always attended; <see cref="Select"/> must not return them.
    /// </summary>
    ReadOnlySpan<int> Pinned => default;

    /// <summary>
    /// Picks up to <paramref name="k"/> of slots [<paramref name="first"/>, <paramref name="end"/>) (ascending, into
    /// <paramref name="picked"/>) for the query at <paramref name="position"/>; returns how many were written (a
    /// page-based selector may round up to whole pages; a per-query-head selector returns the union over the group).
    /// </summary>
    /// <param name="queries">Every query head of this KV head's group, post-RoPE, head dim apart (G × HeadDim): a
    /// selector may rank by their mean (<see cref="GroupQuery.Mean"/>), per head, or however its method says.</param>
    int Select(IKvStore store, ReadOnlySpan<float> queries, int first, int end, int k, int position, List<int> picked);
}
