using System.Text.Json;
using Sieve.Generation;

namespace Sieve.Serving.Api;

/// <summary>
/// The generation fields chat and text completions share, read and range-checked as OpenAI documents them
/// (temperature 0–2, top_p 0–1, penalties −2–2, at most 4 stop strings, top_logprobs 0–20), plus llama-server's
/// top_k, min_p, repeat_penalty and ignore_eos. OpenAI's defaults apply: temperature 1, top_p 1, no top-k or min-p
/// (Sieve's CLI defaults, 0.8 / 40 / 0.95 / 0.05, are llama.cpp's and would change what an OpenAI client gets).
/// </summary>
sealed record SamplingFields(int? MaxTokens, SamplingOptions Sampling, IReadOnlyList<string> Stop, int N, bool Stream, bool IncludeUsage, int TopLogprobs, bool IgnoreEos)
{
    /// <param name="context">Positions a sequence holds: max_tokens beyond it can never be honoured, so it is refused (400), as vLLM and OpenAI do.</param>
    public static SamplingFields Read(JsonFields f, bool chat, ServerOptions server, int context)
    {
        int limit = server.MaxTokensLimit > 0 ? Math.Min(server.MaxTokensLimit, context) : context;
        int? max = f.Int("max_completion_tokens", 1, limit) ?? f.Int("max_tokens", 1, limit);
        var sampling = new SamplingOptions
        {
            Temperature = (float)(f.Number("temperature", 0, 2) ?? 1),
            TopP = (float)(f.Number("top_p", 0, 1) ?? 1),
            TopK = f.Int("top_k", 0, int.MaxValue) ?? 0,
            MinP = (float)(f.Number("min_p", 0, 1) ?? 0),
            RepeatPenalty = (float)(f.Number("repeat_penalty", 0.01, 100) ?? 1),
            // OpenAI's seed is an integer; any 64-bit value seeds the generator.
            Seed = f.Integer("seed", long.MinValue, long.MaxValue) is { } seed ? unchecked((ulong)seed) : null,
        };
        sampling = PenaltyFields.Apply(sampling, f.Number("presence_penalty", -2, 2) ?? 0, f.Number("frequency_penalty", -2, 2) ?? 0);

        var stop = ReadStop(f);
        int n = f.Int("n", 1, server.MaxChoices) ?? 1;
        bool stream = f.Bool("stream") ?? false;
        bool usage = false;
        if (f.Element("stream_options") is { } so)
        {
            var o = JsonFields.Of(so, "stream_options");
            usage = o.Bool("include_usage") ?? false;
        }

        // Chat: logprobs is a bool and top_logprobs (0–20) the alternatives. Completions (legacy): logprobs is the
        // count of alternatives, 0–5.
        int top = -1;
        if (chat)
        {
            bool on = f.Bool("logprobs") ?? false;
            int? alternatives = f.Int("top_logprobs", 0, 20);
            if (alternatives != null && !on) throw ApiException.Invalid("'top_logprobs' needs 'logprobs': true", "top_logprobs");
            if (on) top = alternatives ?? 0;
        }
        else top = f.Int("logprobs", 0, 5) ?? -1;

        return new SamplingFields(max, sampling, stop, n, stream, usage, top, f.Bool("ignore_eos") ?? false);
    }

    static IReadOnlyList<string> ReadStop(JsonFields f)
    {
        if (f.Element("stop") is not { } v) return [];
        var list = new List<string>();
        if (v.ValueKind == JsonValueKind.String) list.Add(v.GetString()!);
        else if (v.ValueKind == JsonValueKind.Array)
        {
            foreach (var e in v.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.String) throw ApiException.Invalid("'stop' must be a string or an array of strings", "stop");
                list.Add(e.GetString()!);
            }
        }
        else throw ApiException.Invalid("'stop' must be a string or an array of strings", "stop");
        if (list.Count > 4) throw ApiException.Invalid($"'stop' has {list.Count} strings; at most 4 are allowed", "stop");
        if (list.Any(s => s.Length == 0)) throw ApiException.Invalid("'stop' has an empty string (it would match before every token)", "stop");
        return list;
    }

    /// <summary>The request's options for the scheduler: its token budget within what the context leaves after the prompt.</summary>
    public GenerationOptions Options(int promptTokens, int context, Models.ForwardOptions? forward, Cache.KvCacheSpec cache, int choice) => new()
    {
        MaxTokens = Math.Min(MaxTokens ?? int.MaxValue, context - promptTokens),
        // n choices of one seeded request differ from one another and are each reproducible: seed + choice index.
        Sampling = choice == 0 || Sampling.Seed == null ? Sampling : Sampling with { Seed = Sampling.Seed + (ulong)choice },
        StopStrings = Stop,
        StopAtEndOfGeneration = !IgnoreEos,
        TopLogprobs = TopLogprobs,
        ContextLength = context,
        Forward = forward,
        Cache = cache,
    };
}
