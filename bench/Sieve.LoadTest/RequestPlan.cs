namespace Sieve.LoadTest;

/// <summary>What one request sends and when its client gives up on it: fixed before the run from the seed, so
/// two servers get the same prompts and the same cancellation points whatever order the clients run in.</summary>
/// <param name="Index">Position in the run, 0-based.</param>
/// <param name="PromptTokens">Token-id prompt (when the prompts are token arrays), else null.</param>
/// <param name="PromptText">Text prompt (when the prompts are text), else null.</param>
/// <param name="CancelAfterChunks">Content chunks after which the client disposes the response; null: read to
/// the end.</param>
public sealed record RequestPlan(int Index, int[]? PromptTokens, string? PromptText, int? CancelAfterChunks)
{
    /// <summary>The plans of a whole run. Each request gets its own random prompt (so no server gets prefix-cache
    /// hits the other does not); a request is cancelled with probability <c>CancelFraction</c>, after a number of
    /// content chunks uniform in [1, MaxTokens − 1] (mid-stream: never before the first token, never after the
    /// last).</summary>
    public static RequestPlan[] MakeAll(LoadOptions o)
    {
        var rng = new Random(o.Seed);
        var plans = new RequestPlan[o.Requests];
        for (int i = 0; i < plans.Length; i++)
        {
            int[]? tokens = null;
            string? text = null;
            if (o.PromptKind == PromptKind.Tokens)
            {
                tokens = new int[o.PromptTokens];
                for (int t = 0; t < tokens.Length; t++) tokens[t] = rng.Next(o.FirstToken, o.Vocab);
            }
            else
            {
                // Lower-case letters, no spaces: one token each under a byte-level placeholder vocabulary (a
                // space would cost three: the UTF-8 bytes of SentencePiece's '▁'); fewer under a real one.
                var chars = new char[o.PromptTokens];
                for (int t = 0; t < chars.Length; t++) chars[t] = (char)('a' + rng.Next(26));
                text = new string(chars);
            }
            int? cancelAfter = null;
            if (rng.NextDouble() < o.CancelFraction)
                cancelAfter = o.MaxTokens > 1 ? rng.Next(1, o.MaxTokens) : 1;
            plans[i] = new RequestPlan(i, tokens, text, cancelAfter);
        }
        return plans;
    }
}
