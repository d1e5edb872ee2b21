using Sieve.Cache;
using Sieve.Models;

namespace Sieve.Generation;

/// <summary>
/// One conversation's state in the engine: its KV cache, the tokens that cache holds, and its forward options
/// (layer plan, hooks). It outlives a request, so the next chat turn prefills only what is new: the longest prefix
/// the new prompt shares with <see cref="Tokens"/> stays cached, as llama-server's slots keep their prompt cache.
/// </summary>
/// <remarks>Disposing it disposes its cache (an offloaded cache's file goes with it); whoever made the sequence ends it.</remarks>
public sealed class Sequence(IKvCache cache, ForwardOptions? options = null) : IDisposable
{
    readonly List<int> _tokens = [];

    public IKvCache Cache { get; } = cache;
    public ForwardOptions Options { get; } = options ?? ForwardOptions.Default;

    /// <summary>The tokens whose keys and values the cache holds, in order (position i holds Tokens[i]).</summary>
    public IReadOnlyList<int> Tokens => _tokens;

    /// <summary>The next position to run: how many tokens the cache holds.</summary>
    public int Position => _tokens.Count;

    /// <summary>
    /// Keeps the longest cached prefix of <paramref name="prompt"/> (at most all but its last token, whose logits the
    /// caller needs) and forgets the rest; returns how many prompt tokens are already cached. Only caches that keep
    /// every position exactly (dense) can resume: a compressing or sparse cache has evicted or summarised the
    /// prompt at its prefill/decode boundary, so it starts over. A dense cache whose sliding-window rings have
    /// already overwritten keys the kept prefix's next query would see drops to nothing too (see
    /// <see cref="DenseKvCache.Truncate"/>): the return value is what the cache really kept.
    /// </summary>
    public int ReusePrefix(IReadOnlyList<int> prompt)
    {
        int keep = 0;
        if (CanResume)
        {
            int limit = Math.Min(_tokens.Count, prompt.Count - 1);
            while (keep < limit && _tokens[keep] == prompt[keep]) keep++;
        }
        Truncate(keep);
        return _tokens.Count;
    }

    /// <summary>Forgets positions ≥ <paramref name="length"/> (all of them when the cache cannot keep that prefix: a ring that moved on).</summary>
    public void Truncate(int length)
    {
        length = Math.Clamp(length, 0, _tokens.Count);
        Cache.Truncate(length);
        length = Math.Min(length, Cache.Length);
        _tokens.RemoveRange(length, _tokens.Count - length);
    }

    bool CanResume => Cache is DenseKvCache;

    public void Dispose() => (Cache as IDisposable)?.Dispose();

    /// <summary>
    /// Copies the first <paramref name="length"/> positions of <paramref name="source"/> into this empty sequence when
    /// both keep every position (dense) and run the same plan with no hooks (a hook must see every activation of
    /// its sequence), and the source's sliding-window rings still hold the window before <paramref name="length"/>.
    /// Returns whether it did; when not, the caller prefills.
    /// </summary>
    internal bool TryCopyPrefix(Sequence source, int length)
    {
        if (_tokens.Count != 0 || length <= 0 || length > source._tokens.Count) return false;
        if (Cache is not DenseKvCache mine || source.Cache is not DenseKvCache theirs) return false;
        if (!SameComputation(Options, source.Options)) return false;
        if (!mine.CanCopyPrefix(theirs, length)) return false;
        mine.CopyPrefixFrom(theirs, length);
        for (int i = 0; i < length; i++) _tokens.Add(source._tokens[i]);
        return true;
    }

    /// <summary>
    /// Whether keys and values written under <paramref name="a"/> are what <paramref name="b"/> would write: the same
    /// layer plan, gates, prompt boundary and operators (activation sparsity changes every activation after the first
    /// masked layer), and no hooks on either (a hook must see every activation of its sequence).
    /// </summary>
    internal static bool SameComputation(ForwardOptions a, ForwardOptions b) =>
        a.Hooks.Count == 0 && b.Hooks.Count == 0 && Equals(a.Plan, b.Plan) && Equals(a.Gates, b.Gates)
        && a.Boundary == b.Boundary && ReferenceEquals(a.Operators, b.Operators);

    /// <summary>Set while a scheduler or generator runs this sequence: one request at a time.</summary>
    internal int Busy;

    /// <summary>Records tokens the forward pass has just stored at positions Position…</summary>
    internal void Stored(ReadOnlySpan<int> tokens)
    {
        foreach (int t in tokens) _tokens.Add(t);
    }

    internal void Stored(int token) => _tokens.Add(token);
}
