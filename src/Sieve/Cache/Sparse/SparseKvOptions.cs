namespace Sieve.Cache.Sparse;

/// <summary>A full-precision cache with an optional press (boundary eviction) and an optional selector (decode top-K).</summary>
public sealed record SparseKvOptions
{
    public KvElement Element { get; init; } = KvElement.F16;
    public IKvPress? Press { get; init; }
    /// <summary>Tokens each KV head keeps after the press (a count, or a fraction of the prompt).</summary>
    public KvBudget PressBudget { get; init; } = KvBudget.OfFraction(0.5);
    /// <summary>AdaKV's head-wise budgets: a layer's heads share B·H tokens by their scores, each keeping at least a fifth of B.</summary>
    public bool AdaptiveHeadBudgets { get; init; }
    public ITokenSelector? Selector { get; init; }
    /// <summary>Tokens a selector picks per KV head per decode step.</summary>
    public KvBudget Budget { get; init; } = KvBudget.OfTokens(100);
    /// <summary>Tokens appended after the boundary always attended, the most recent this many.</summary>
    public int RecentCap { get; init; } = 512;
    /// <summary>The first layers attend densely even with a selector (Quest keeps layers 0 and 1 dense).</summary>
    public int DenseLayers { get; init; }
    /// <summary>Prefill queries kept per layer for the press (SnapKV's observation window).</summary>
    public int ObservationWindow { get; init; } = 64;
    /// <summary>The first this many positions are always attended under a selector and never offered to it (A²ATS's 8 sinks).</summary>
    public int Sinks { get; init; }
    /// <summary>A decode row always attends the positions less than this far behind it (A²ATS's local window of 64), besides <see cref="RecentCap"/>.</summary>
    public int LocalWindow { get; init; }
    /// <summary>Where the full-precision rows live: RAM (the default) or an offloaded tier (<c>--kv-offload DIR</c>).</summary>
    public Storage.IKvTierFactory Tier { get; init; } = Storage.MemoryTier.Instance;
    public bool Trace { get; init; }
}
