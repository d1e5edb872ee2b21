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
        ["dense", "dense-f16", "selfindex", "selfindex-hamming", "selfindex-random", "selfindex-f16", "quest", "exact-topk", "random", "a2ats", "streamingllm", "snapkv", "knorm"];

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
    /// <summary>A²ATS: the per-(layer, KV head) codebooks (<c>--codebooks FILE</c>, from <c>sieve a2ats calibrate</c>).</summary>
    public A2ats.A2atsCodebooks? Codebooks { get; init; }
    /// <summary>Record selections for fidelity metrics.</summary>
    public bool Trace { get; init; }
    /// <summary>Where the full-precision sparse methods keep their rows (<c>--kv-offload DIR</c>: a file tier); null: RAM.</summary>
    public Storage.IKvTierFactory? Tier { get; init; }
    Storage.IKvTierFactory TierOrRam => Tier ?? Storage.MemoryTier.Instance;

    public bool IsDense => Method is "dense" or "dense-f16";
    public bool IsPress => Method is "streamingllm" or "snapkv" or "knorm";

    /// <param name="budget">Null: the method's default (A²ATS: 3% of the sequence per query head, the reference's topk;
    /// others: 100 tokens).</param>
    public static KvCacheSpec Parse(string method, string? budget = null) => new()
    {
        Method = Methods.Contains(method) ? method : throw new ArgumentException($"unknown KV-cache method '{method}' (known: {string.Join(", ", Methods)})"),
        Budget = budget != null ? KvBudget.Parse(budget) : method == "a2ats" ? KvBudget.OfFraction(0.03) : KvBudget.OfTokens(100),
        // A²ATS's reference attends 8 sinks and a local window of 64 always; StreamingLLM's press keeps 4 sinks.
        Sinks = method == "a2ats" ? 8 : 4,
    };

    public IKvCache Create(KvCacheShape shape, WorkerPool? pool) => Method switch
    {
        _ when Tier != null && (Method == "dense" || Method.StartsWith("selfindex")) => throw new ArgumentException(Method == "dense"
            ? "--kv-offload: the dense cache keeps F32 rows in RAM; offload the F16 one: --kv dense-f16" : $"--kv-offload: the {Method} cache keeps no full-precision rows to offload"),
        "dense" => new DenseKvCache(shape, pool),
        "dense-f16" => new SparseKvCache(shape, new SparseKvOptions { Element = KvElement.F16, Tier = TierOrRam }, pool),
        "selfindex" or "selfindex-hamming" or "selfindex-random" or "selfindex-f16" => SelfIndexKvCache.Create(shape, new SelfIndexOptions
        {
            Budget = Budget, DenseSet = DenseSet, RecentCap = RecentCap, Trace = Trace, QueryWindow = Window,
            FullPrecisionStorage = Method == "selfindex-f16",
            Scorer = Method switch { "selfindex-hamming" => SelfIndexScorer.Hamming, "selfindex-random" => SelfIndexScorer.Random, _ => SelfIndexScorer.Lut },
        }, pool),
        "quest" or "exact-topk" or "random" => new SparseKvCache(shape, new SparseKvOptions
        {
            Element = Element, Budget = Budget, RecentCap = RecentCap, Trace = Trace, Tier = TierOrRam,
            DenseLayers = DenseLayers ?? (Method == "quest" ? 2 : 0),
            Selector = Method switch { "quest" => new QuestSelector(), "exact-topk" => new ExactTopKSelector(), _ => new RandomSelector() },
        }, pool),
        // A²ATS ranks every token but the sinks and the local window (m − n < Window), the generated ones included.
        "a2ats" => new SparseKvCache(shape, new SparseKvOptions
        {
            Element = Element, Budget = Budget, RecentCap = 0, Sinks = Sinks, LocalWindow = Window, Trace = Trace, DenseLayers = DenseLayers ?? 0, Tier = TierOrRam,
            Selector = new A2ats.A2atsSelector(Codebooks ?? throw new ArgumentException("--kv a2ats needs codebooks: --codebooks FILE (make one with `sieve a2ats calibrate`)"), shape),
        }, pool),
        "streamingllm" or "snapkv" or "knorm" => new SparseKvCache(shape, new SparseKvOptions
        {
            Element = Element, PressBudget = Budget, AdaptiveHeadBudgets = AdaptiveHeadBudgets, ObservationWindow = Window, Trace = Trace, Tier = TierOrRam,
            Press = Method switch { "streamingllm" => new StreamingLlmPress(Sinks), "snapkv" => new SnapKvPress(Window), _ => new KnormPress() },
        }, pool),
        _ => throw new ArgumentException($"unknown KV-cache method '{Method}'"),
    };

    public override string ToString() => IsDense ? Method : $"{Method} (budget {Budget})";
}
