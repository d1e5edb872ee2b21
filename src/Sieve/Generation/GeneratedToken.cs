namespace Sieve.Generation;

/// <summary>One generated token and the text it completes (empty while a multi-byte character is split).</summary>
public readonly record struct GeneratedToken(int Id, string Text)
{
    /// <summary>
    /// The token's log-probability and the most likely alternatives, when <see cref="GenerationOptions.TopLogprobs"/>
    /// asks for them; null otherwise, and on the tail of held-back text a generation flushes at its end (Id −1).
    /// </summary>
    public TokenLogprobs? Logprobs { get; init; }
}
