using System.Globalization;
using Microsoft.Extensions.AI;
using Sieve.Generation;
using Sieve.Serving.Api;

namespace Sieve.Serving;

/// <summary><see cref="ChatOptions"/> as the same request fields the HTTP API reads, with the same ranges and defaults.</summary>
static class ChatOptionsMapping
{
    public static SamplingFields Fields(ChatOptions? o, ServerOptions server)
    {
        o ??= new ChatOptions();
        Check(o.Temperature, 0, 2, "Temperature");
        Check(o.TopP, 0, 1, "TopP");
        Check(o.PresencePenalty, -2, 2, "PresencePenalty");
        Check(o.FrequencyPenalty, -2, 2, "FrequencyPenalty");
        if (o.MaxOutputTokens is < 1) throw ApiException.Invalid($"MaxOutputTokens is {o.MaxOutputTokens}; it must be 1 or more", "MaxOutputTokens");
        if (server.MaxTokensLimit > 0 && o.MaxOutputTokens > server.MaxTokensLimit)
            throw ApiException.Invalid($"MaxOutputTokens is {o.MaxOutputTokens}; at most {server.MaxTokensLimit} are allowed", "MaxOutputTokens");
        if (o.TopK is < 0) throw ApiException.Invalid($"TopK is {o.TopK}; it must be 0 (off) or more", "TopK");
        var stop = o.StopSequences ?? [];
        if (stop.Count > 4) throw ApiException.Invalid($"StopSequences has {stop.Count} strings; at most 4 are allowed", "StopSequences");
        if (stop.Any(string.IsNullOrEmpty)) throw ApiException.Invalid("StopSequences has an empty string", "StopSequences");
        if (o.ResponseFormat is ChatResponseFormatJson { Schema: not null })
            throw ApiException.Invalid("a JSON schema response format is not supported (ChatResponseFormat.Json is accepted, not enforced)", "ResponseFormat");
        var sampling = new SamplingOptions
        {
            Temperature = o.Temperature ?? 1,
            TopP = o.TopP ?? 1,
            TopK = o.TopK ?? 0,
            MinP = 0,
            Seed = o.Seed is { } seed ? unchecked((ulong)seed) : null,
        };
        sampling = PenaltyFields.Apply(sampling, o.PresencePenalty ?? 0, o.FrequencyPenalty ?? 0);
        return new SamplingFields(o.MaxOutputTokens, sampling, stop.ToList(), 1, Stream: false, IncludeUsage: false, TopLogprobs: -1, IgnoreEos: false);
    }

    static void Check(float? v, float min, float max, string name)
    {
        if (v is { } x && !(x >= min && x <= max)) throw ApiException.Invalid($"{name} is {x}; it must be from {min} to {max}", name);
    }

    /// <summary>Sieve's per-call method choices from AdditionalProperties ("sieve.kv", "sieve.budget", "sieve.pop", "sieve.sparsity").</summary>
    public static SieveExtension Extension(ChatOptions? o)
    {
        var p = o?.AdditionalProperties;
        if (p == null) return SieveExtension.None;
        string? Text(string key) => p.TryGetValue(key, out var v) && v != null ? Convert.ToString(v, CultureInfo.InvariantCulture) : null;
        string? kv = Text("sieve.kv"), budget = Text("sieve.budget"), pop = Text("sieve.pop"), sparsity = Text("sieve.sparsity");
        if (kv != null && Array.IndexOf(Cache.KvCacheSpec.Methods, kv) < 0)
            throw ApiException.Invalid($"sieve.kv is '{kv}'; known methods: {string.Join(", ", Cache.KvCacheSpec.Methods)}", "sieve.kv");
        int? popN = pop == null ? null : int.TryParse(pop, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n
            : throw ApiException.Invalid($"sieve.pop is '{pop}'; it must be a whole number of layers", "sieve.pop");
        bool? sparse = sparsity == null ? null : bool.TryParse(sparsity, out bool b) ? b
            : throw ApiException.Invalid($"sieve.sparsity is '{sparsity}'; it must be true or false", "sieve.sparsity");
        return new SieveExtension(kv, budget, popN, sparse);
    }
}
