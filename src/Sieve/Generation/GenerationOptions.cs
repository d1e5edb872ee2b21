namespace Sieve.Generation;

public sealed record GenerationOptions
{
    /// <summary>New tokens at most (generation also stops at the context length).</summary>
    public int MaxTokens { get; init; } = 128;
    public SamplingOptions Sampling { get; init; } = new();
    /// <summary>Generation ends before any of these strings; the string itself is not emitted.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];
    /// <summary>Stop on the tokenizer's end-of-generation ids (EOS, end-of-turn).</summary>
    public bool StopAtEndOfGeneration { get; init; } = true;
    /// <summary>Positions the KV cache holds; 0 = the model's context length.</summary>
    public int ContextLength { get; init; }
    /// <summary>Layer plan and hooks for a request that runs in a fresh sequence (a <see cref="Sequence"/> carries its own).</summary>
    public Models.ForwardOptions? Forward { get; init; }
    /// <summary>The KV-cache method of a request that runs in a fresh sequence; null: the generator's or scheduler's default.</summary>
    public Cache.KvCacheSpec? Cache { get; init; }
    /// <summary>
    /// Log-probabilities on every <see cref="GeneratedToken"/>: −1 off; 0 the chosen token's only; 1 to
    /// <see cref="MaxTopLogprobs"/> also that many most likely tokens (OpenAI's logprobs + top_logprobs).
    /// </summary>
    public int TopLogprobs { get; init; } = -1;

    /// <summary>OpenAI's limit on top_logprobs.</summary>
    public const int MaxTopLogprobs = 20;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that means nothing (sampling's included).</summary>
    public void Validate()
    {
        Sampling.Validate();
        if (StopStrings.Any(string.IsNullOrEmpty)) throw new ArgumentException("a stop string is empty (it would match before every token)");
        if (TopLogprobs is < -1 or > MaxTopLogprobs) throw new ArgumentException($"top logprobs {TopLogprobs} must be -1 (off) or from 0 to {MaxTopLogprobs}");
    }
}
