using System.Text.Json;
using Sieve.Serving.Api;
using Sieve.Sparsity;

namespace Sieve.Serving;

/// <summary>The HTTP routes: OpenAI's (/v1/…), llama-server's (/health, /metrics, /tokenize, /detokenize), Sieve's, and the chat page.</summary>
static class Endpoints
{
    public static void Map(WebApplication app, ServingModel served)
    {
        app.MapPost("/v1/chat/completions", Handle(served, "chat", http => Complete(served, http, chat: true)));
        app.MapPost("/v1/completions", Handle(served, "completions", http => Complete(served, http, chat: false)));
        app.MapGet("/v1/models", Handle(served, "models", http => Json(http, w =>
        {
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            w.WriteStartObject();
            w.WriteString("id", served.Options.ModelId);
            w.WriteString("object", "model");
            w.WriteNumber("created", Created(served));
            w.WriteString("owned_by", "sieve");
            w.WriteEndObject();
            w.WriteEndArray();
        })));
        app.MapGet("/v1/models/{id}", (HttpContext http, string id) => Handle(served, "models", h =>
        {
            if (id != served.Options.ModelId) throw UnknownModel(id);
            return Json(h, w =>
            {
                w.WriteString("id", id);
                w.WriteString("object", "model");
                w.WriteNumber("created", Created(served));
                w.WriteString("owned_by", "sieve");
            });
        })(http));
        app.MapGet("/health", Handle(served, "health", http => Json(http, w => w.WriteString("status", "ok"))));
        app.MapGet("/metrics", Handle(served, "metrics", async http =>
        {
            http.Response.ContentType = "text/plain; version=0.0.4";
            await http.Response.WriteAsync(served.Metrics.Render(served.Scheduler.Stats), http.RequestAborted);
        }));
        app.MapPost("/tokenize", Handle(served, "tokenize", async http =>
        {
            using var doc = await RequestBody.ReadObject(http, served.Options.MaxBodyBytes);
            var f = new JsonFields(doc.RootElement);
            string content = f.String("content") ?? throw ApiException.Invalid("'content' is required", "content");
            bool special = f.Bool("parse_special") ?? true;
            var ids = served.Model.Tokenizer.Encode(content, f.Bool("add_special") ?? false, parseSpecial: special);
            await Json(http, w =>
            {
                w.WriteStartArray("tokens");
                foreach (int id in ids) w.WriteNumberValue(id);
                w.WriteEndArray();
            });
        }));
        app.MapPost("/detokenize", Handle(served, "detokenize", async http =>
        {
            using var doc = await RequestBody.ReadObject(http, served.Options.MaxBodyBytes);
            var f = new JsonFields(doc.RootElement);
            if (f.Element("tokens") is not { ValueKind: JsonValueKind.Array } arr) throw ApiException.Invalid("'tokens' must be an array of token ids", "tokens");
            int vocab = served.Model.Tokenizer.VocabSize;
            var ids = new List<int>();
            foreach (var e in arr.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out int id) || id < 0 || id >= vocab)
                    throw ApiException.Invalid($"'tokens[{ids.Count}]' is not a token id of this model (0..{vocab - 1})", $"tokens[{ids.Count}]");
                ids.Add(id);
            }
            await Json(http, w => w.WriteString("content", served.Model.Tokenizer.Decode(ids)));
        }));
        app.MapGet("/sieve/methods", Handle(served, "methods", http => Json(http, w =>
        {
            w.WriteStartArray("kv");
            foreach (var m in Sieve.Cache.KvCacheSpec.Methods) w.WriteStringValue(m);
            w.WriteEndArray();
            w.WriteString("kv_default", served.Options.Cache.Method);
            w.WriteStartObject("pop");
            w.WriteNumber("layers", served.Model.Config.LayerCount);
            w.WriteNumber("default", served.Options.Pop?.SkippedLayers.Count ?? 0);
            w.WriteEndObject();
            w.WriteStartObject("sparsity");
            w.WriteBoolean("loaded", served.Options.Sparsity != null);
            if (served.Options.Sparsity is { } s) w.WriteString("method", s.Thresholds.Method.Name()); else w.WriteNull("method");
            w.WriteEndObject();
        })));
        StaticPages.Map(app);
        app.MapFallback(Handle(served, "other", http => throw new ApiException(404, $"no route {http.Request.Method} {http.Request.Path}", "invalid_request_error", "not_found")));
    }

    static long Created(ServingModel served) => new DateTimeOffset(File.GetLastWriteTimeUtc(served.Model.Checkpoint.Path)).ToUnixTimeSeconds();

    static ApiException UnknownModel(string id) => new(404, $"the model '{id}' does not exist; this server serves one model", "invalid_request_error", "model_not_found", "model");

    static async Task Complete(ServingModel served, HttpContext http, bool chat)
    {
        using var doc = await RequestBody.ReadObject(http, served.Options.MaxBodyBytes);
        var f = new JsonFields(doc.RootElement);
        if (f.String("model") is { } model && model != served.Options.ModelId) throw UnknownModel(model);
        var fields = SamplingFields.Read(f, chat, served.Options, served.Context);
        ResponseFormat.Check(f);
        var (forward, cache) = served.Resolve(SieveExtension.Read(f));
        int[] prompt = chat
            ? served.EncodeChat(ChatMessages.Read(f, served.Options.MaxMessages))
            : CompletionPrompt.Read(f, served.Model.Tokenizer, served.Model.Config.VocabSize);
        if (!chat && (f.Bool("echo") ?? false)) throw ApiException.Invalid("'echo' is not supported", "echo");
        if (!chat && f.String("suffix") is { Length: > 0 }) throw ApiException.Invalid("'suffix' is not supported", "suffix");
        await new CompletionResponder(served, http, chat, fields, prompt, forward, cache).Run();
    }

    static Task Json(HttpContext http, Action<Utf8JsonWriter> write)
    {
        http.Response.ContentType = "application/json";
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, JsonOutput.Options))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }
        return http.Response.Body.WriteAsync(buffer.ToArray(), http.RequestAborted).AsTask();
    }

    /// <summary>Runs a route, turning refusals into OpenAI error bodies and counting the answer by status.</summary>
    static RequestDelegate Handle(ServingModel served, string endpoint, Func<HttpContext, Task> run) => async http =>
    {
        try
        {
            await run(http);
        }
        catch (ApiException e)
        {
            await ErrorBody.Write(http, e);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client left; nothing to answer.
        }
        catch (Exception e) when (e is BadHttpRequestException b)
        {
            await ErrorBody.Write(http, new ApiException(b.StatusCode, b.Message));
        }
        catch (Exception e)
        {
            http.RequestServices.GetService<ILoggerFactory>()?.CreateLogger("Sieve.Serving").LogError(e, "{Endpoint} failed", endpoint);
            await ErrorBody.Write(http, new ApiException(500, $"internal error: {e.Message}", "server_error"));
        }
        served.Metrics.Answered(endpoint, http.Response.StatusCode);
    };
}
