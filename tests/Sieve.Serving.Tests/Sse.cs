using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Sieve.Serving.Tests;

/// <summary>A plain server-sent-events reader for the tests that need to see the raw stream (or drop it half-way).</summary>
static class Sse
{
    public sealed record Result(string Text, string? FinishReason, bool Done, int Chunks, JsonElement? Usage);

    public static async Task<Result> Collect(HttpClient http, string url, object body, CancellationToken cancel = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = OpenAiSdkTests.Json(body) };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
        response.EnsureSuccessStatusCode();
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel));
        var text = new StringBuilder();
        string? finish = null;
        JsonElement? usage = null;
        int chunks = 0;
        bool done = false;
        while (await reader.ReadLineAsync(cancel) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            var data = line[6..];
            if (data == "[DONE]") { done = true; break; }
            using var doc = JsonDocument.Parse(data);
            chunks++;
            if (doc.RootElement.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object) usage = u.Clone();
            foreach (var c in doc.RootElement.GetProperty("choices").EnumerateArray())
            {
                if (c.TryGetProperty("text", out var t)) text.Append(t.GetString());
                if (c.TryGetProperty("delta", out var d) && d.TryGetProperty("content", out var dc)) text.Append(dc.GetString());
                if (c.GetProperty("finish_reason").ValueKind == JsonValueKind.String) finish = c.GetProperty("finish_reason").GetString();
            }
        }
        return new Result(text.ToString(), finish, done, chunks, usage);
    }
}
