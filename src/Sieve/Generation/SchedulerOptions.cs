using Sieve.Cache;

namespace Sieve.Generation;

/// <summary>Limits of a <see cref="Scheduler"/>, in the spirit of vLLM's <c>max_num_seqs</c>, <c>max_num_batched_tokens</c> and KV memory.</summary>
public sealed record SchedulerOptions
{
    /// <summary>Sequences in flight at once; more requests wait in arrival order.</summary>
    public int MaxSequences { get; init; } = 16;

    /// <summary>Rows one forward step carries: a decode token per running sequence first, then prefill chunks.</summary>
    public int MaxTokensPerStep { get; init; } = 512;

    /// <summary>
    /// KV memory the running sequences may reserve together. Each request reserves its worst case when admitted:
    /// F32 keys and values for every position it may reach (prompt + max tokens, within the context), whatever the
    /// cache method (a compressing cache holds less; the reservation does not guess how much). 0: no limit.
    /// </summary>
    public long KvBudgetBytes { get; init; }

    /// <summary>The cache method of requests that name none.</summary>
    public KvCacheSpec Cache { get; init; } = new();

    /// <summary>Copy the cached keys and values of a running sequence whose tokens start the new prompt (dense caches, same plan).</summary>
    public bool SharePrefixes { get; init; } = true;

    internal void Validate()
    {
        if (MaxSequences < 1) throw new ArgumentOutOfRangeException(nameof(MaxSequences), "at least one sequence must be allowed in flight");
        if (MaxTokensPerStep < 1) throw new ArgumentOutOfRangeException(nameof(MaxTokensPerStep), "a step must carry at least one token");
        if (MaxTokensPerStep < MaxSequences)
            throw new ArgumentOutOfRangeException(nameof(MaxTokensPerStep), $"a step of {MaxTokensPerStep} rows cannot carry a decode token for each of {MaxSequences} sequences");
        if (KvBudgetBytes < 0) throw new ArgumentOutOfRangeException(nameof(KvBudgetBytes), "the KV budget cannot be negative (0: no limit)");
    }
}
