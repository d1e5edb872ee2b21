using System.Text.Json;

namespace Sieve.LoadTest;

/// <summary>What the load tool reads from one streamed JSON chunk of /v1/completions or /v1/chat/completions.</summary>
/// <param name="Content">choices[0].text (completions) or choices[0].delta.content (chat); null when absent.</param>
/// <param name="FinishReason">choices[0].finish_reason when not null.</param>
/// <param name="CompletionTokens">usage.completion_tokens when the chunk carries usage.</param>
/// <param name="Error">The message of an <c>{"error": ...}</c> body, or of a chunk that is not JSON.</param>
public readonly record struct StreamChunk(string? Content, string? FinishReason, int? CompletionTokens, string? Error)
{
    public static StreamChunk Parse(string json, Endpoint endpoint)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return new(null, null, null, $"chunk is not a JSON object: {Clip(json)}");
            if (root.TryGetProperty("error", out var error))
                return new(null, null, null, error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m)
                    ? m.ToString() : error.ToString());
            string? content = null, finish = null;
            int? completion = null;
            if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
            {
                var c = choices[0];
                if (endpoint == Endpoint.Completions)
                {
                    if (c.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String) content = t.GetString();
                }
                else if (c.TryGetProperty("delta", out var d) && d.ValueKind == JsonValueKind.Object
                         && d.TryGetProperty("content", out var t) && t.ValueKind == JsonValueKind.String)
                    content = t.GetString();
                if (c.TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String) finish = f.GetString();
            }
            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object
                && usage.TryGetProperty("completion_tokens", out var ct) && ct.TryGetInt32(out int n))
                completion = n;
            return new(content, finish, completion, null);
        }
        catch (JsonException e)
        {
            return new(null, null, null, $"chunk is not JSON ({e.Message}): {Clip(json)}");
        }
    }

    internal static string Clip(string s) => s.Length <= 300 ? s : s[..300] + "…";
}
