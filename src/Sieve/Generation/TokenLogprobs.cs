namespace Sieve.Generation;

/// <summary>
/// A generated token's natural-log probability and the <see cref="GenerationOptions.TopLogprobs"/> most likely
/// tokens at its position, most likely first (ties: lower id first). Both come from log_softmax of the model's raw
/// logits, before temperature, penalties or top-k/top-p: what OpenAI's logprobs field means, and vLLM's default.
/// So a token drawn at a high temperature can be one the top list leaves out.
/// </summary>
public sealed record TokenLogprobs(float Logprob, IReadOnlyList<TokenLogprob> Top);

/// <summary>One candidate token and its natural-log probability.</summary>
public readonly record struct TokenLogprob(int Id, float Logprob);
