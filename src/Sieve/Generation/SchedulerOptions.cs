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

    /// <summary>
    /// Finished requests' sequences kept, with their caches, for later prompts that start the same way (a shared
    /// system prompt, a conversation's earlier turns), as llama-server's idle slots keep their prompt cache and
    /// vLLM's automatic prefix caching keeps blocks. A new request takes over the kept sequence sharing the longest
    /// prefix with it (no copy; it prefills only the rest), or the least recently used one when none shares any and
    /// the pool is full (its arrays are reused, not reallocated). Cancelled or failed requests' caches are never kept.
    /// Only dense caches are kept (a compressing cache cannot resume). 0: none kept.
    /// </summary>
    public int PromptCacheSequences { get; init; }

    /// <summary>
    /// Positions every fresh sequence's cache holds; 0: just what its request needs (prompt + max tokens). A server
    /// that keeps prompt caches sets it to its per-sequence context, so a kept sequence can serve any later request.
    /// </summary>
    public int SequenceCapacity { get; init; }

    internal void Validate()
    {
        if (MaxSequences < 1) throw new ArgumentOutOfRangeException(nameof(MaxSequences), "at least one sequence must be allowed in flight");
        if (MaxTokensPerStep < 1) throw new ArgumentOutOfRangeException(nameof(MaxTokensPerStep), "a step must carry at least one token");
        if (MaxTokensPerStep < MaxSequences)
            throw new ArgumentOutOfRangeException(nameof(MaxTokensPerStep), $"a step of {MaxTokensPerStep} rows cannot carry a decode token for each of {MaxSequences} sequences");
        if (PromptCacheSequences < 0) throw new ArgumentOutOfRangeException(nameof(PromptCacheSequences), "the prompt cache cannot hold a negative number of sequences (0: none)");
        if (SequenceCapacity < 0) throw new ArgumentOutOfRangeException(nameof(SequenceCapacity), "a sequence capacity cannot be negative (0: what each request needs)");
        if (KvBudgetBytes < 0) throw new ArgumentOutOfRangeException(nameof(KvBudgetBytes), "the KV budget cannot be negative (0: no limit)");
    }
}
