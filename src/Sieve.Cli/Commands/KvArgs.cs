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
        Description = "Selectors: tokens read per KV head per decode step; presses: tokens kept per KV head. A count (100) or a fraction (0.25 or 25%)",
        DefaultValueFactory = _ => "100",
    };
    public readonly Option<int> DenseSet = new Option<int>("--dense-set") { Description = "selfindex: prompt tokens kept in F16 and always attended", DefaultValueFactory = _ => 64 }.AtLeast(0);
    public readonly Option<int> Recent = new Option<int>("--recent") { Description = "Tokens appended after the prompt always attended (the most recent N)", DefaultValueFactory = _ => 512 }.AtLeast(0);
    public readonly Option<int?> DenseLayers = new Option<int?>("--dense-layers") { Description = "Leading layers that attend densely under a selector (default: quest 2, others 0)" }.AtLeast(0);
    public readonly Option<int> Sinks = new Option<int>("--sinks") { Description = "streamingllm: attention sinks kept", DefaultValueFactory = _ => 4 }.AtLeast(0);
    public readonly Option<int> Window = new Option<int>("--window") { Description = "snapkv: observation window; selfindex-hamming: queries for the median", DefaultValueFactory = _ => 64 }.AtLeast(1);
    public readonly Option<bool> Adaptive = new("--adaptive-heads") { Description = "presses: AdaKV head-wise budgets" };
    public readonly Option<string> KvType = new("--kv-type") { Description = "Storage of the full-precision sparse methods: f16 or f32", DefaultValueFactory = _ => "f16" };
    public readonly Option<string?> Offload = new("--kv-offload")
    {
        Description = "Keep the full-precision keys and values of the sparse methods in a memory-mapped file in DIR (private, removed when the sequence ends); only what a step selects is read back",
        HelpName = "DIR",
    };

    public IEnumerable<Option> All => [Kv, Budget, DenseSet, Recent, DenseLayers, Sinks, Window, Adaptive, KvType, Offload];

    public KvCacheSpec Read(ParseResult r, string? method = null, string? budget = null) => KvCacheSpec.Parse(method ?? r.GetValue(Kv)!, budget ?? r.GetValue(Budget)) with
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

    /// <summary>A directory that cannot hold the files is refused before the model loads its first cache.</summary>
    static Sieve.Cache.Storage.KvOffload Checked(Sieve.Cache.Storage.KvOffload offload)
    {
        offload.CheckDirectory();
        return offload;
    }
}
