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

    public IEnumerable<Option> All => [Kv, Budget, DenseSet, Recent, DenseLayers, Sinks, Window, Adaptive, KvType];

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
    };
}
