using System.CommandLine;
using Sieve.Cache;

namespace Sieve.Cli.Commands;

/// <summary>The KV-cache options every command that runs a model shares: which method, and its settings.</summary>
sealed class KvArgs
{
    public readonly Option<string> Kv = new("--kv")
    {
        Description = $"KV-cache method: {string.Join(", ", KvCacheSpec.Methods)}",
        DefaultValueFactory = _ => "dense",
    };
    public readonly Option<string> Budget = new("--budget")
    {
        Description = "Selectors: tokens read per KV head per decode step (a2ats: per query head, default 3%); presses: tokens kept per KV head. A count (100) or a fraction (0.25 or 25%)",
        DefaultValueFactory = _ => "100",
    };
    public readonly Option<int> DenseSet = new Option<int>("--dense-set") { Description = "selfindex: prompt tokens kept in F16 and always attended", DefaultValueFactory = _ => 64 }.AtLeast(0);
    public readonly Option<int> Recent = new Option<int>("--recent") { Description = "Tokens appended after the prompt always attended (the most recent N)", DefaultValueFactory = _ => 512 }.AtLeast(0);
    public readonly Option<int?> DenseLayers = new Option<int?>("--dense-layers") { Description = "Leading layers that attend densely under a selector (default: quest 2, others 0)" }.AtLeast(0);
    public readonly Option<int> Sinks = new Option<int>("--sinks") { Description = "streamingllm: attention sinks kept; a2ats: first positions always attended (default 8)", DefaultValueFactory = _ => 4 }.AtLeast(0);
    public readonly Option<int> Window = new Option<int>("--window") { Description = "snapkv: observation window; selfindex-hamming: queries for the median; a2ats: local window always attended", DefaultValueFactory = _ => 64 }.AtLeast(1);
    public readonly Option<bool> Adaptive = new("--adaptive-heads") { Description = "presses: AdaKV head-wise budgets" };
    public readonly Option<string> KvType = new("--kv-type") { Description = "Storage of the full-precision sparse methods: f16 or f32", DefaultValueFactory = _ => "f16" };
    public readonly Option<string?> Offload = new("--kv-offload")
    {
        Description = "Keep the full-precision keys and values of the sparse methods in a memory-mapped file in DIR (private, removed when the sequence ends); only what a step selects is read back",
        HelpName = "DIR",
    };

    public readonly Option<string?> Codebooks = new("--codebooks")
    {
        Description = "a2ats: the codebooks file `sieve a2ats calibrate` wrote for this model (a --shape benchmark without one fits codebooks to its synthetic keys)",
        HelpName = "FILE",
    };

    public IEnumerable<Option> All => [Kv, Budget, DenseSet, Recent, DenseLayers, Sinks, Window, Adaptive, KvType, Offload, Codebooks];

    /// <summary>
    /// The spec of <paramref name="method"/> (or --kv) with the options given. A²ATS keeps its own defaults unless an
    /// option is given: budget 3% of the sequence per query head, 8 sinks (the reference's topk and n_sink).
    /// </summary>
    public KvCacheSpec Read(ParseResult r, string? method = null, string? budget = null)
    {
        string m = method ?? r.GetValue(Kv)!;
        bool a2ats = m == "a2ats";
        var spec = Base(r, m, budget ?? (a2ats && Implicit(r, Budget) ? null : r.GetValue(Budget)));
        if (a2ats && Implicit(r, Sinks)) spec = spec with { Sinks = KvCacheSpec.Parse(m).Sinks };
        // Kept with any method: a server started with --kv dense may serve requests that ask for a2ats.
        if (r.GetValue(Codebooks) is { } path) spec = spec with { Codebooks = CodebookFiles.Read(path) };
        return spec;
    }

    /// <summary>Whether --budget was given (commands that take a list pass each item; A²ATS keeps 3% unless one was).</summary>
    public bool BudgetGiven(ParseResult r) => !Implicit(r, Budget);

    /// <summary>The budget to read <paramref name="method"/> at: the list's item, or null for A²ATS's default when none was given.</summary>
    public string? BudgetFor(ParseResult r, string method, string budget) => method == "a2ats" && !BudgetGiven(r) ? null : budget;

    static bool Implicit(ParseResult r, Option option) => r.GetResult(option) is null or { Implicit: true };

    KvCacheSpec Base(ParseResult r, string method, string? budget) => KvCacheSpec.Parse(method, budget) with
    {
        DenseSet = r.GetValue(DenseSet),
        RecentCap = r.GetValue(Recent),
        DenseLayers = r.GetValue(DenseLayers),
        Sinks = r.GetValue(Sinks),
        Window = r.GetValue(Window),
        AdaptiveHeadBudgets = r.GetValue(Adaptive),
        Element = r.GetValue(KvType) switch
        {
            "f16" => Sieve.Cache.Sparse.KvElement.F16,
            "f32" => Sieve.Cache.Sparse.KvElement.F32,
            var t => throw new ArgumentException($"--kv-type: '{t}' is not f16 or f32"),
        },
        Tier = r.GetValue(Offload) is { } dir ? Checked(new Sieve.Cache.Storage.KvOffload(dir)) : null,
    };

    /// <summary>Each codebooks file read once per process (a bench over several budgets asks again; an 8B file is ~1 GiB).</summary>
    static class CodebookFiles
    {
        static readonly Dictionary<string, Sieve.Cache.A2ats.A2atsCodebooks> Loaded = [];

        public static Sieve.Cache.A2ats.A2atsCodebooks Read(string path)
        {
            string full = Path.GetFullPath(path);
            lock (Loaded)
            {
                if (!Loaded.TryGetValue(full, out var books)) Loaded[full] = books = Sieve.Cache.A2ats.A2atsCodebookFile.Read(path);
                return books;
            }
        }
    }

    /// <summary>A directory that cannot hold the files is refused before the model loads its first cache.</summary>
    static Sieve.Cache.Storage.KvOffload Checked(Sieve.Cache.Storage.KvOffload offload)
    {
        offload.CheckDirectory();
        return offload;
    }
}
