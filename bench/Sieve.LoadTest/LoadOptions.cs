using System.Globalization;

namespace Sieve.LoadTest;

/// <summary>Which OpenAI endpoint the requests go to.</summary>
public enum Endpoint { Completions, Chat }

/// <summary>How prompts are written: token-id arrays (exact lengths, completions only) or text.</summary>
public enum PromptKind { Tokens, Text }

/// <summary>The settings of one load run, parsed from the command line.</summary>
public sealed record LoadOptions
{
    public required Uri Url { get; init; }
    public int Clients { get; init; } = 32;
    public int Requests { get; init; } = 10_000;
    public int MaxTokens { get; init; } = 32;
    public int PromptTokens { get; init; } = 32;
    public PromptKind PromptKind { get; init; } = PromptKind.Tokens;
    /// <summary>Token ids of generated prompts are drawn from [FirstToken, Vocab): 259 skips the three control
    /// tokens and 256 byte tokens of a llama-style SentencePiece vocabulary; 49,152 is smollm's vocabulary.</summary>
    public int Vocab { get; init; } = 49_152;
    public int FirstToken { get; init; } = 259;
    public double CancelFraction { get; init; } = 0.1;
    public Endpoint Endpoint { get; init; } = Endpoint.Completions;
    public int? Pid { get; init; }
    public string? JsonPath { get; init; }
    public int Seed { get; init; } = 1;
    /// <summary>Greedy by default: the servers' default sampler chains differ (llama-server: top-k 40, top-p 0.95,
    /// min-p 0.05, temperature 0.8), and decode throughput should not hinge on which one a server picked.</summary>
    public double Temperature { get; init; }
    /// <summary>Sent as llama-server's top-level <c>ignore_eos</c> (Sieve accepts it too): random weights can
    /// emit EOS at any step, and every request should then decode exactly MaxTokens.</summary>
    public bool IgnoreEos { get; init; } = true;
    public bool IncludeUsage { get; init; } = true;
    public string? Model { get; init; }
    public string? ApiKey { get; init; }
    public double TimeoutSeconds { get; init; } = 600;
    /// <summary>Share of the requests after which the server counts as warm (for the RSS growth figure).</summary>
    public double WarmupFraction { get; init; } = 0.1;
    public string? Label { get; init; }

    public const string Usage = """
        Sieve.LoadTest: concurrent streaming clients against an OpenAI-compatible server (sieve serve, llama-server).

          --url URL              server base address, e.g. http://127.0.0.1:8080 (required)
          --clients N            concurrent clients [32]
          --requests N           requests in all [10000]
          --max-tokens N         max_tokens of each request [32]
          --prompt-tokens N      prompt length [32]
          --prompt-kind K        tokens (random token-id arrays, exact length) or text (N random letters) [tokens]
          --vocab N              token ids drawn from [first-token, N) [49152]
          --first-token N        [259]
          --cancel-fraction F    share of requests cancelled mid-stream after a random number of chunks [0.1]
          --endpoint E           completions or chat (chat needs --prompt-kind text) [completions]
          --pid PID              sample the server's resident memory (/proc/PID/status VmRSS) every second
          --json PATH            write the summary, RSS samples and every request to PATH
          --seed N               seed of prompts and cancellations [1]
          --temperature T        [0]
          --no-ignore-eos        do not send ignore_eos: true
          --no-usage             do not send stream_options.include_usage
          --model ID             model field (default: the first id of GET /v1/models)
          --api-key KEY          sent as Authorization: Bearer KEY
          --timeout S            seconds one request may take [600]
          --warmup-fraction F    share of requests after which the server counts as warm [0.1]
          --label TEXT           name printed with the results (e.g. the server)
        """;

    /// <summary>Parses <paramref name="args"/>; a bad or missing value throws <see cref="ArgumentException"/>
    /// naming the option.</summary>
    public static LoadOptions Parse(IReadOnlyList<string> args)
    {
        Uri? url = null;
        var o = new LoadOptions { Url = new Uri("http://127.0.0.1/") };
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{name} needs a value");
            switch (name)
            {
                case "--url": url = ParseUrl(Value()); break;
                case "--clients": o = o with { Clients = Int(name, Value(), 1, 4096) }; break;
                case "--requests": o = o with { Requests = Int(name, Value(), 1, int.MaxValue) }; break;
                case "--max-tokens": o = o with { MaxTokens = Int(name, Value(), 1, 1_000_000) }; break;
                case "--prompt-tokens": o = o with { PromptTokens = Int(name, Value(), 1, 1_000_000) }; break;
                case "--prompt-kind": o = o with { PromptKind = Enum<PromptKind>(name, Value()) }; break;
                case "--vocab": o = o with { Vocab = Int(name, Value(), 2, int.MaxValue) }; break;
                case "--first-token": o = o with { FirstToken = Int(name, Value(), 0, int.MaxValue) }; break;
                case "--cancel-fraction": o = o with { CancelFraction = Real(name, Value(), 0, 1) }; break;
                case "--endpoint": o = o with { Endpoint = Enum<Endpoint>(name, Value()) }; break;
                case "--pid": o = o with { Pid = Int(name, Value(), 1, int.MaxValue) }; break;
                case "--json": o = o with { JsonPath = Value() }; break;
                case "--seed": o = o with { Seed = Int(name, Value(), int.MinValue, int.MaxValue) }; break;
                case "--temperature": o = o with { Temperature = Real(name, Value(), 0, 100) }; break;
                case "--no-ignore-eos": o = o with { IgnoreEos = false }; break;
                case "--no-usage": o = o with { IncludeUsage = false }; break;
                case "--model": o = o with { Model = Value() }; break;
                case "--api-key": o = o with { ApiKey = Value() }; break;
                case "--timeout": o = o with { TimeoutSeconds = Real(name, Value(), 0.001, 1e6) }; break;
                case "--warmup-fraction": o = o with { WarmupFraction = Real(name, Value(), 0, 1) }; break;
                case "--label": o = o with { Label = Value() }; break;
                default: throw new ArgumentException($"unknown option '{name}' (see --help)");
            }
        }
        if (url is null) throw new ArgumentException("--url is required, e.g. --url http://127.0.0.1:8080");
        if (o.FirstToken >= o.Vocab)
            throw new ArgumentException($"--first-token {o.FirstToken} must be below --vocab {o.Vocab}");
        if (o.Endpoint == Endpoint.Chat && o.PromptKind == PromptKind.Tokens)
            throw new ArgumentException("--endpoint chat takes text messages: add --prompt-kind text");
        return o with { Url = url };
    }

    static Uri ParseUrl(string s)
    {
        if (!Uri.TryCreate(s, UriKind.Absolute, out var u) || (u.Scheme != "http" && u.Scheme != "https"))
            throw new ArgumentException($"--url '{s}' is not an http(s) address");
        return u;
    }

    static int Int(string name, string s, int min, int max)
    {
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
            throw new ArgumentException($"{name} '{s}' must be an integer in [{min}, {max}]");
        return v;
    }

    static double Real(string name, string s, double min, double max)
    {
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !(v >= min && v <= max))
            throw new ArgumentException($"{name} '{s}' must be a number in [{min}, {max}]");
        return v;
    }

    static T Enum<T>(string name, string s) where T : struct, System.Enum =>
        System.Enum.TryParse<T>(s, ignoreCase: true, out var v) && System.Enum.IsDefined(v)
            ? v
            : throw new ArgumentException($"{name} '{s}' must be one of: {string.Join(", ", System.Enum.GetNames<T>()).ToLowerInvariant()}");
}
