using System.Text;

namespace Sieve.LoadTest;

/// <summary>One server-sent event: its type (<c>message</c> unless an <c>event:</c> line named another, or
/// <c>error</c> for llama-server's non-standard <c>error: {...}</c> line) and its data lines joined by '\n'.</summary>
public readonly record struct SseEvent(string Type, string Data);

/// <summary>Reads server-sent events (the WHATWG event-stream format) from a response body, written here so the
/// load tool depends on no server's client library.</summary>
public static class SseReader
{
    public static async IAsyncEnumerable<SseEvent> ReadAsync(
        TextReader reader, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var data = new StringBuilder();
        bool hasData = false;
        string type = "message";
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            if (line.Length == 0)
            {
                if (hasData) yield return new SseEvent(type, data.ToString());
                data.Clear();
                hasData = false;
                type = "message";
                continue;
            }
            if (line[0] == ':') continue;   // a comment (keep-alive)
            int colon = line.IndexOf(':');
            string field = colon < 0 ? line : line[..colon];
            string value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' ')) value = value[1..];
            switch (field)
            {
                case "data":
                    if (hasData) data.Append('\n');
                    data.Append(value);
                    hasData = true;
                    break;
                case "event":
                    type = value;
                    break;
                case "error":
                    // llama-server writes a failed stream's error as "error: {json}" (b4748 server.cpp).
                    if (hasData) data.Append('\n');
                    data.Append(value);
                    hasData = true;
                    type = "error";
                    break;
                // id:, retry: and unknown fields are ignored, as the format says.
            }
        }
        if (hasData) yield return new SseEvent(type, data.ToString());   // a last event without its blank line
    }
}
