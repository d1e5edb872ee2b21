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
    /// <summary>
    /// A prompt longer than this is compressed as it arrives, with the per-channel median and scale of its first this
    /// many tokens, so prefill holds codes rather than F32 rows (<see cref="SelfIndexStore"/>); a prompt of at most
    /// this many tokens is compressed at the boundary with statistics over all of it, as the method is written. 0:
    /// always at the boundary. 2048: the F32 buffer is then 128 MiB at most on llama-1b (against 1 GiB for 16K
    /// tokens), and the statistics see enough of the prompt: on the fixture story, statistics of its first 128 of 448
    /// tokens cost the index 0.1 of recall@K, of its first 384 nothing.
    /// </summary>
    public int StatisticsTokens { get; init; } = 2048;
    /// <summary>While a long prompt streams: its first this many tokens stay exact (F16) until the boundary, the
    /// attention sinks that usually head the dense set.</summary>
    public int ExactFirst { get; init; } = 64;
    /// <summary>While a long prompt streams: its latest this many tokens stay exact (F32) before they are coded, so a
    /// prefill chunk of up to this many tokens attends to itself exactly.</summary>
    public int ExactLast { get; init; } = 512;
    /// <summary>Record each decode step's candidates and selection (for fidelity metrics); costs memory.</summary>
    public bool Trace { get; init; }
}
