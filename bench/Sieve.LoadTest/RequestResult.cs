namespace Sieve.LoadTest;

/// <summary>How a request ended.</summary>
public enum Outcome { Completed, Cancelled, Failed }

/// <summary>What one request measured.</summary>
/// <param name="Index">The request's position in the run.</param>
/// <param name="Outcome">Completed (read to <c>[DONE]</c>), Cancelled (the client disposed the response at its
/// planned chunk) or Failed (anything else).</param>
/// <param name="Status">HTTP status, 0 when no response came.</param>
/// <param name="StartSeconds">When it was sent, in seconds from the start of the run.</param>
/// <param name="TtftMs">Milliseconds from sending to the first content chunk; null when none came.</param>
/// <param name="TotalMs">Milliseconds from sending to the end (or the cancel).</param>
/// <param name="Chunks">Content chunks received (non-empty text): the tokens this client saw.</param>
/// <param name="UsageTokens">usage.completion_tokens of the last chunk that carried usage, when one did.</param>
/// <param name="FinishReason">The last finish_reason seen.</param>
/// <param name="Error">Why it failed: status and body, an exception, a stream without [DONE], an error event.</param>
public sealed record RequestResult(
    int Index, Outcome Outcome, int Status, double StartSeconds, double? TtftMs, double TotalMs,
    int Chunks, int? UsageTokens, string? FinishReason, string? Error);
