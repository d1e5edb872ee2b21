namespace Sieve.Cache.SelfIndexing;

/// <summary>How the Self-Indexing cache picks tokens at each decode step (method notes §1.3 and its ablations).</summary>
public enum SelfIndexScorer
{
    /// <summary>The method: 4-channel sign codes looked up in a 16-centroid table per group against the full-precision query.</summary>
    Lut,
    /// <summary>Ablation ("16+1 bits"): sign(k̃) against sign(q̄ − median query), 128 − 2·popcount(XOR).</summary>
    Hamming,
    /// <summary>Negative control: the same budget drawn at random (seeded by layer, head and position).</summary>
    Random,
}

/// <summary>The Self-Indexing KV cache's settings; defaults are the authors' code's.</summary>
public sealed record SelfIndexOptions
{
    /// <summary>Top-K per KV head from the compressed tokens (the code: 100; its commented-out line: 7.5%).</summary>
    public KvBudget Budget { get; init; } = KvBudget.OfTokens(100);
    /// <summary>Prompt tokens with the highest exact score against the last prompt query, kept in F16 and always attended.</summary>
    public int DenseSet { get; init; } = 64;
    /// <summary>Tokens appended after the boundary (the question, the answer so far) always attended, the most recent this many (the code pre-allocates 512).</summary>
    public int RecentCap { get; init; } = 512;
    public SelfIndexScorer Scorer { get; init; } = SelfIndexScorer.Lut;
    /// <summary>Ablation: keep F16 keys and values beside the codes and attend over those, so only the index is approximate (the authors' "16+1 bits" mock path stores full precision too).</summary>
    public bool FullPrecisionStorage { get; init; }
    /// <summary>Prompt queries whose per-channel median centres the query of the Hamming ablation.</summary>
    public int QueryWindow { get; init; } = 64;
    /// <summary>Record each decode step's candidates and selection (for fidelity metrics); costs memory.</summary>
    public bool Trace { get; init; }
}
