using System.Globalization;
using System.Text.Json;
using Sieve.Cache;

namespace Sieve.Serving.Api;

/// <summary>
/// Sieve's per-request choices, in the body field <c>"sieve"</c> (OpenAI clients send extra fields as they are):
/// <c>{"kv": "selfindex", "budget": 100, "pop": 11, "sparsity": false}</c>. kv and budget take the names and forms of
/// `--kv` and `--budget`; pop skips that many of the last layers in prefill (0: none), as `--pop`; sparsity turns
/// the server's thresholds file off or on for this request. Unlike OpenAI's own fields, an unknown name here is an
/// error: these names are ours, so a typo must not pass silently.
/// </summary>
sealed record SieveExtension(string? Kv, string? Budget, int? Pop, bool? Sparsity)
{
    public static readonly SieveExtension None = new(null, null, null, null);

    public static SieveExtension Read(JsonFields body)
    {
        if (body.Element("sieve") is not { } v) return None;
        var f = JsonFields.Of(v, "sieve");
        f.OnlyKnown("kv", "budget", "pop", "sparsity");
        string? budget = null;
        if (f.Element("budget") is { } b)
            budget = b.ValueKind switch
            {
                JsonValueKind.String => b.GetString(),
                JsonValueKind.Number => b.GetDouble().ToString(CultureInfo.InvariantCulture),
                _ => throw ApiException.Invalid("'sieve.budget' must be a number or a string (a count such as 100, a fraction such as 0.25 or \"25%\")", "sieve.budget"),
            };
        var kv = f.String("kv");
        if (kv != null && Array.IndexOf(KvCacheSpec.Methods, kv) < 0)
            throw ApiException.Invalid($"'sieve.kv' is '{kv}'; known methods: {string.Join(", ", KvCacheSpec.Methods)}", "sieve.kv");
        if (budget != null && kv == null) throw ApiException.Invalid("'sieve.budget' needs 'sieve.kv' (the method it is the budget of)", "sieve.budget");
        return new SieveExtension(kv, budget, f.Int("pop", 0, 4096), f.Bool("sparsity"));
    }
}
