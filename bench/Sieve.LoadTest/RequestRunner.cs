using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Sieve.LoadTest;

/// <summary>Sends one streaming request and reads its events, measuring time to first token and the chunks that
/// arrive; a planned cancellation disposes the response mid-stream, which closes the connection so the server
/// sees the client leave.</summary>
public sealed class RequestRunner(HttpClient http, LoadOptions options, string model)
{
    readonly Uri _address = new(options.Url, options.Endpoint == Endpoint.Chat ? "v1/chat/completions" : "v1/completions");

    /// <summary>A client that never reuses a connection (see RunAsync) and closes it, not drains it, when a
    /// response is disposed early: the default drains up to 1 MB for up to 2 s to reuse the connection, and a
    /// server whose stream is drained never learns that its client left.</summary>
    public static HttpClient CreateClient(LoadOptions o)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = o.Clients,
            MaxResponseDrainSize = 0,
            ResponseDrainTimeout = TimeSpan.Zero,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            // Zero: a connection is never reused (see the Connection: close remark in RunAsync).
            PooledConnectionLifetime = TimeSpan.Zero,
        };
        var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        if (o.ApiKey is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", o.ApiKey);
        return http;
    }

    /// <summary>The exception and its inner ones: "An error occurred while sending the request" alone does not
    /// say whether the server reset the connection or refused it.</summary>
    static string Describe(Exception e)
    {
        var parts = new List<string>();
        for (var x = e; x is not null; x = x.InnerException) parts.Add($"{x.GetType().Name}: {x.Message}");
        return string.Join(" ← ", parts);
    }

    public byte[] Body(RequestPlan plan)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("model", model);
            if (options.Endpoint == Endpoint.Chat)
            {
                w.WriteStartArray("messages");
                w.WriteStartObject();
                w.WriteString("role", "user");
                w.WriteString("content", plan.PromptText);
                w.WriteEndObject();
                w.WriteEndArray();
            }
            else if (plan.PromptTokens is { } tokens)
            {
                w.WriteStartArray("prompt");
                foreach (int t in tokens) w.WriteNumberValue(t);
                w.WriteEndArray();
            }
            else w.WriteString("prompt", plan.PromptText);
            w.WriteNumber("max_tokens", options.MaxTokens);
            w.WriteNumber("temperature", options.Temperature);
            w.WriteBoolean("stream", true);
            if (options.IncludeUsage)
            {
                w.WriteStartObject("stream_options");
                w.WriteBoolean("include_usage", true);
                w.WriteEndObject();
            }
            if (options.IgnoreEos) w.WriteBoolean("ignore_eos", true);
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    /// <param name="runClock">The run's clock, for the request's start time.</param>
    public async Task<RequestResult> RunAsync(RequestPlan plan, Stopwatch runClock, CancellationToken runToken)
    {
        double start = runClock.Elapsed.TotalSeconds;
        var sw = Stopwatch.StartNew();
        double? ttft = null;
        int chunks = 0, status = 0;
        int? usage = null;
        string? finish = null;
        bool sawDone = false;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(runToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.TimeoutSeconds));
        RequestResult Done(Outcome outcome, string? error) =>
            new(plan.Index, outcome, status, start, ttft, sw.Elapsed.TotalMilliseconds, chunks, usage, finish, error);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _address)
            {
                Content = new ByteArrayContent(Body(plan)) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
            };
            request.Headers.Accept.ParseAdd("text/event-stream");
            // A fresh connection per request: llama-server b4748 closes the connection after every streamed
            // response (its chunk provider returns false after sink.done(), and httplib then drops the socket
            // without a "Connection: close" header), so a reused connection races that close; in a trial 1 of 40
            // requests failed "The response ended prematurely" on send. HttpClient reuses connections even when
            // the request says "Connection: close", hence also PooledConnectionLifetime = 0 in CreateClient.
            // Loopback connects cost microseconds.
            request.Headers.ConnectionClose = true;
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                string body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
                return Done(Outcome.Failed, $"HTTP {status}: {StreamChunk.Clip(body)}");
            }
            await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            await foreach (var ev in SseReader.ReadAsync(reader, timeout.Token).ConfigureAwait(false))
            {
                if (ev.Type == "error") return Done(Outcome.Failed, $"error event: {StreamChunk.Clip(ev.Data)}");
                if (sawDone) continue;
                if (ev.Data == "[DONE]")
                {
                    // Read on to the end of the body (the chunked encoding's last, empty chunk): a body
                    // left unread would count as a client that left.
                    sawDone = true;
                    continue;
                }
                var chunk = StreamChunk.Parse(ev.Data, options.Endpoint);
                if (chunk.Error is not null) return Done(Outcome.Failed, $"error chunk: {chunk.Error}");
                if (chunk.CompletionTokens is { } n) usage = n;
                if (chunk.FinishReason is not null) finish = chunk.FinishReason;
                if (string.IsNullOrEmpty(chunk.Content)) continue;   // role-only, final or held-back chunks
                chunks++;
                ttft ??= sw.Elapsed.TotalMilliseconds;
                // Leaving the using blocks disposes stream and response: with no drain the connection closes.
                if (chunks == plan.CancelAfterChunks) return Done(Outcome.Cancelled, null);
            }
            return sawDone ? Done(Outcome.Completed, null) : Done(Outcome.Failed, "stream ended without data: [DONE]");
        }
        catch (OperationCanceledException) when (!runToken.IsCancellationRequested)
        {
            return Done(Outcome.Failed, $"timed out after {options.TimeoutSeconds:0.#} s");
        }
        catch (OperationCanceledException)
        {
            return Done(Outcome.Failed, "run interrupted");
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return Done(Outcome.Failed, Describe(e));
        }
    }
}
