using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Channels;
using Sieve.Cache;
using Sieve.Generation;
using Sieve.Models;

namespace Sieve.Serving.Api;

/// <summary>
/// Runs the n choices of one chat or text completion through the scheduler and writes OpenAI's response: one JSON
/// object, or server-sent events (a chunk per token, a last chunk per choice with its finish_reason, a usage chunk
/// when stream_options.include_usage asks, then <c>data: [DONE]</c>). The request's abort token is the
/// generations' cancel token, so a client that goes away ends its generations and frees their KV at the next step.
/// </summary>
sealed class CompletionResponder(ServingModel served, HttpContext http, bool chat, SamplingFields fields, int[] prompt, ForwardOptions? forward, KvCacheSpec cache)
{
    readonly string _id = (chat ? "chatcmpl-" : "cmpl-") + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
    readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>One thing a choice produced: a token, or its end (finish reason and counts) or its failure.</summary>
    readonly record struct Event(int Choice, GeneratedToken? Token, GenerationStats? Done, Exception? Error);

    public async Task Run()
    {
        // The generations' token: the client leaving cancels it, and so does this reply ending any other way (a failed
        // write, a refused second choice), so no generation outlives the response it was for.
        using var scope = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        var cancel = scope.Token;
        try
        {
            var generations = new ScheduledGeneration[fields.N];
            for (int i = 0; i < fields.N; i++)
                generations[i] = served.Submit(prompt, fields.Options(prompt.Length, served.Context, forward, cache, i), cancel);

            var events = Channel.CreateUnbounded<Event>(new UnboundedChannelOptions { SingleReader = true });
            var pumps = generations.Select((g, i) => Pump(g, i, events.Writer, served.Metrics, cancel)).ToArray();
            _ = Task.WhenAll(pumps).ContinueWith(_ => events.Writer.TryComplete(), TaskScheduler.Default);

            if (fields.Stream) await Stream(events.Reader, cancel);
            else await Whole(events.Reader, cancel);
        }
        finally
        {
            await scope.CancelAsync();
        }
    }

    static async Task Pump(ScheduledGeneration g, int choice, ChannelWriter<Event> output, ServerMetrics metrics, CancellationToken cancel)
    {
        try
        {
            await foreach (var t in g.Tokens.WithCancellation(cancel).ConfigureAwait(false))
                output.TryWrite(new Event(choice, t, null, null));
            output.TryWrite(new Event(choice, null, await g.Completion.ConfigureAwait(false), null));
        }
        catch (Exception e)
        {
            // Counted here, where every cancel passes, not where the reply is written: a client that left cannot be written to.
            if (e is OperationCanceledException) metrics.Cancelled();
            output.TryWrite(new Event(choice, null, null, e));
        }
    }

    static string Finish(GenerationStats s) => s.StopReason is "eos" or "stop string" ? "stop" : "length";

    async Task Whole(ChannelReader<Event> events, CancellationToken cancel)
    {
        var text = new System.Text.StringBuilder[fields.N];
        var tokens = new List<GeneratedToken>[fields.N];
        var done = new GenerationStats?[fields.N];
        for (int i = 0; i < fields.N; i++) { text[i] = new(); tokens[i] = []; }
        await foreach (var e in events.ReadAllAsync(CancellationToken.None))
        {
            if (e.Error != null) { Failed(e.Error); return; }
            if (e.Token is { } t) { text[e.Choice].Append(t.Text); tokens[e.Choice].Add(t); }
            if (e.Done is { } d) done[e.Choice] = d;
        }
        int generated = done.Sum(d => d!.GeneratedTokens);
        served.Metrics.Generated(generated);
        http.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(http.Response.Body, JsonOutput.Options);
        w.WriteStartObject();
        Head(w, chat ? "chat.completion" : "text_completion");
        w.WriteStartArray("choices");
        for (int i = 0; i < fields.N; i++)
        {
            w.WriteStartObject();
            w.WriteNumber("index", i);
            if (chat)
            {
                w.WriteStartObject("message");
                w.WriteString("role", "assistant");
                w.WriteString("content", text[i].ToString());
                w.WriteEndObject();
            }
            else w.WriteString("text", text[i].ToString());
            Logprobs(w, tokens[i], 0);
            w.WriteString("finish_reason", Finish(done[i]!));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        Usage(w, generated, done.Sum(d => d!.CachedTokens));
        w.WriteEndObject();
        await w.FlushAsync(cancel);
    }

    bool _failed;

    /// <summary>A generation that failed on the server's side (not a cancel): 500 before the stream starts, an error event after.</summary>
    void Failed(Exception e)
    {
        if (e is OperationCanceledException) { _failed = true; return; }
        _failed = true;
        throw new ApiException(500, $"generation failed: {e.Message}", "server_error");
    }

    async Task Stream(ChannelReader<Event> events, CancellationToken cancel)
    {
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";   // proxies must not hold the stream back
        var body = http.Response.Body;
        if (chat)
            for (int i = 0; i < fields.N; i++)
                await Chunk(body, w => Delta(w, i, role: true, content: "", finish: null), cancel);
        int generated = 0, cached = 0;
        var offsets = new int[fields.N];
        try
        {
            await foreach (var e in events.ReadAllAsync(CancellationToken.None))
            {
                if (e.Error is OperationCanceledException) { _failed = true; continue; }
                if (e.Error != null)
                {
                    _failed = true;
                    await Send(body, ErrorBody.Json(new ApiException(500, $"generation failed: {e.Error.Message}", "server_error")), cancel);
                    continue;
                }
                if (e.Token is { } t)
                {
                    // With logprobs every sampled token is an event, text or not (held back for a stop string, half a character).
                    if (t.Text.Length > 0 || t.Logprobs != null)
                        await Chunk(body, w => Delta(w, e.Choice, role: false, content: t.Text, finish: null, token: t, offset: offsets[e.Choice]), cancel);
                    offsets[e.Choice] += t.Text.Length;
                }
                else if (e.Done is { } d)
                {
                    generated += d.GeneratedTokens;
                    cached += d.CachedTokens;
                    await Chunk(body, w => Delta(w, e.Choice, role: false, content: null, finish: Finish(d)), cancel);
                }
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return;   // the client left; its generations were cancelled with the same token
        }
        catch (IOException) when (cancel.IsCancellationRequested)
        {
            return;
        }
        served.Metrics.Generated(generated);
        if (_failed) return;
        if (fields.IncludeUsage)
            await Chunk(body, w =>
            {
                Head(w, chat ? "chat.completion.chunk" : "text_completion");
                w.WriteStartArray("choices");
                w.WriteEndArray();
                Usage(w, generated, cached);
            }, cancel);
        await Send(body, "[DONE]", cancel);
    }

    void Delta(Utf8JsonWriter w, int choice, bool role, string? content, string? finish, GeneratedToken? token = null, int offset = 0)
    {
        Head(w, chat ? "chat.completion.chunk" : "text_completion");
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", choice);
        if (chat)
        {
            w.WriteStartObject("delta");
            if (role) w.WriteString("role", "assistant");
            if (content != null) w.WriteString("content", content);
            w.WriteEndObject();
        }
        else w.WriteString("text", content ?? "");
        if (token is { Logprobs: not null } t) Logprobs(w, [t], offset);
        else w.WriteNull("logprobs");
        if (finish != null) w.WriteString("finish_reason", finish); else w.WriteNull("finish_reason");
        w.WriteEndObject();
        w.WriteEndArray();
    }

    void Logprobs(Utf8JsonWriter w, IReadOnlyList<GeneratedToken> tokens, int offset)
    {
        if (fields.TopLogprobs < 0) { w.WriteNull("logprobs"); return; }
        if (chat) LogprobsJson.Chat(w, served.Model.Tokenizer, tokens);
        else LogprobsJson.Completion(w, served.Model.Tokenizer, tokens, offset);
    }

    void Head(Utf8JsonWriter w, string obj)
    {
        w.WriteString("id", _id);
        w.WriteString("object", obj);
        w.WriteNumber("created", _created);
        w.WriteString("model", served.Options.ModelId);
        w.WriteString("system_fingerprint", "sieve");
    }

    void Usage(Utf8JsonWriter w, int generated, int cached)
    {
        // prompt_tokens counts each choice's prompt once, as OpenAI's does for n > 1.
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", prompt.Length);
        w.WriteNumber("completion_tokens", generated);
        w.WriteNumber("total_tokens", prompt.Length + generated);
        w.WriteStartObject("prompt_tokens_details");
        w.WriteNumber("cached_tokens", Math.Min(cached, prompt.Length));
        w.WriteEndObject();
        w.WriteEndObject();
    }

    static async Task Chunk(Stream body, Action<Utf8JsonWriter> write, CancellationToken cancel)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, JsonOutput.Options))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }
        await Send(body, buffer.ToArray(), cancel);
    }

    static Task Send(Stream body, string data, CancellationToken cancel) => Send(body, System.Text.Encoding.UTF8.GetBytes(data), cancel);

    static readonly byte[] DataPrefix = "data: "u8.ToArray(), EventEnd = "\n\n"u8.ToArray();

    static async Task Send(Stream body, byte[] data, CancellationToken cancel)
    {
        // One event per token: the framing arrays are made once, not per write.
        await body.WriteAsync(DataPrefix, cancel);
        await body.WriteAsync(data, cancel);
        await body.WriteAsync(EventEnd, cancel);
        await body.FlushAsync(cancel);
    }
}
