using Sieve.Cache.SelfIndexing;
using Sieve.Cache.Sparse;
using Sieve.Threading;

namespace Sieve.Cache;

/// <summary>
/// A KV-cache method and its settings, as a user names them (<c>--kv selfindex --budget 100</c>): plain data that
/// builds the cache for a model. For selectors (self-index, Quest, exact top-K, random) the budget is what each
/// decode step reads per KV head; for presses (StreamingLLM, SnapKV, Knorm) it is what stays cached per KV head.
/// </summary>
public sealed record KvCacheSpec
{
    public static readonly string[] Methods =
        ["dense", "dense-f16", "selfindex", "selfindex-hamming", "selfindex-random", "selfindex-f16", "quest", "exact-topk", "random", "streamingllm", "snapkv", "knorm"];

    public string Method { get; init; } = "dense";
    public KvBudget Budget { get; init; } = KvBudget.OfTokens(100);
    /// <summary>Self-index: prompt tokens kept dense (the authors' 64).</summary>
    public int DenseSet { get; init; } = 64;
    /// <summary>Tokens appended after the prefill/decode boundary always attended (the most recent this many).</summary>
    public int RecentCap { get; init; } = 512;
    /// <summary>Leading layers that stay dense under a selector; null: the method's default (Quest 2, others 0).</summary>
    public int? DenseLayers { get; init; }
    /// <summary>Presses: AdaKV head-wise budgets.</summary>
    public bool AdaptiveHeadBudgets { get; init; }
    public int Sinks { get; init; } = 4;
    public int Window { get; init; } = 64;
    /// <summary>Storage of the full-precision methods (dense-f16 is always F16).</summary>
    public Sparse.KvElement Element { get; init; } = Sparse.KvElement.F16;
    /// <summary>Record selections for fidelity metrics.</summary>
    public bool Trace { get; init; }

    public bool IsDense => Method is "dense" or "dense-f16";
    public bool IsPress => Method is "streamingllm" or "snapkv" or "knorm";

    public static KvCacheSpec Parse(string method, string? budget = null) => new()
    {
        Method = Methods.Contains(method) ? method : throw new ArgumentException($"unknown KV-cache method '{method}' (known: {string.Join(", ", Methods)})"),
        Budget = budget != null ? KvBudget.Parse(budget) : KvBudget.OfTokens(100),
    };

    public IKvCache Create(KvCacheShape shape, WorkerPool? pool) => Method switch
    {
        "dense" => new DenseKvCache(shape, pool),
        "dense-f16" => new SparseKvCache(shape, new SparseKvOptions { Element = KvElement.F16 }, pool),
        "selfindex" or "selfindex-hamming" or "selfindex-random" or "selfindex-f16" => SelfIndexKvCache.Create(shape, new SelfIndexOptions
        {
            Budget = Budget, DenseSet = DenseSet, RecentCap = RecentCap, Trace = Trace, QueryWindow = Window,
            FullPrecisionStorage = Method == "selfindex-f16",
            Scorer = Method switch { "selfindex-hamming" => SelfIndexScorer.Hamming, "selfindex-random" => SelfIndexScorer.Random, _ => SelfIndexScorer.Lut },
        }, pool),
        "quest" or "exact-topk" or "random" => new SparseKvCache(shape, new SparseKvOptions
        {
            Element = Element, Budget = Budget, RecentCap = RecentCap, Trace = Trace,
            DenseLayers = DenseLayers ?? (Method == "quest" ? 2 : 0),
            Selector = Method switch { "quest" => new QuestSelector(), "exact-topk" => new ExactTopKSelector(), _ => new RandomSelector() },
        }, pool),
        "streamingllm" or "snapkv" or "knorm" => new SparseKvCache(shape, new SparseKvOptions
        {
            Element = Element, PressBudget = Budget, AdaptiveHeadBudgets = AdaptiveHeadBudgets, ObservationWindow = Window, Trace = Trace,
            Press = Method switch { "streamingllm" => new StreamingLlmPress(Sinks), "snapkv" => new SnapKvPress(Window), _ => new KnormPress() },
        }, pool),
        _ => throw new ArgumentException($"unknown KV-cache method '{Method}'"),
    };

    public override string ToString() => IsDense ? Method : $"{Method} (budget {Budget})";
}
