namespace Sieve.Cache;

/// <summary>The sizes and attention rules a cache needs from the model.</summary>
public sealed record KvCacheShape(int Layers, int Heads, int KvHeads, int HeadDim, int Capacity)
{
    /// <summary>
    /// Per-layer sliding window in positions (0: the layer attends to the whole context). A query at position p of a
    /// sliding layer with window W sees keys p−W+1..p, as transformers' and llama.cpp's masks do (Gemma 2/3, Mistral).
    /// Null: every layer is global.
    /// </summary>
    public int[]? Windows { get; init; }

    /// <summary>Gemma 2's attention-logit soft-cap c: score ← c·tanh(score / c) before the softmax; 0 for none.</summary>
    public float AttnSoftcap { get; init; }

    /// <summary>
    /// Each layer's RoPE (style, base, scaling; Gemma 3's sliding and global layers differ), so a cache can take a
    /// post-RoPE key back to its position-free form or rotate a query to a fixed distance (A²ATS's windowed RoPE).
    /// Null when the shape was made without a model (unit tests of position-blind caches).
    /// </summary>
    public IReadOnlyList<Kernels.Rope>? Ropes { get; init; }

    /// <summary>Layer <paramref name="layer"/>'s RoPE; throws when the shape carries none.</summary>
    public Kernels.Rope Rope(int layer) => Ropes is { } r ? r[layer] : throw new InvalidOperationException("this cache shape carries no RoPE (make it with Transformer.CacheShape)");

    public int KvDim => KvHeads * HeadDim;
    public int GroupSize => Heads / KvHeads;

    /// <summary>Layer <paramref name="layer"/>'s window, 0 when it is global.</summary>
    public int Window(int layer) => Windows is { } w ? w[layer] : 0;

    public bool IsSliding(int layer) => Window(layer) > 0;

    public bool HasSlidingLayers => Windows is { } w && Array.Exists(w, x => x > 0);

    /// <summary>The first position a query at <paramref name="pos"/> of <paramref name="layer"/> may attend to.</summary>
    public int FirstVisible(int layer, int pos) => Window(layer) is var w and > 0 ? Math.Max(0, pos - w + 1) : 0;

    /// <summary>
    /// Whether <paramref name="layer"/>'s window hides any position this cache can hold: 0 &lt; W &lt; Capacity. A window
    /// of at least the capacity never bites (a query at p ≤ Capacity − 1 sees 0..p either way), so caches treat that
    /// layer as global — Mistral's 4096 at a 4096 context keeps its full-array, sparse-capable path.
    /// </summary>
    public bool WindowLimits(int layer) => Window(layer) is var w && w > 0 && w < Capacity;

    /// <summary>The window a cache must apply to <paramref name="layer"/>: its window where it limits, else 0 (global).</summary>
    public int EffectiveWindow(int layer) => WindowLimits(layer) ? Window(layer) : 0;

    /// <summary>
    /// Rows a ring of <paramref name="layer"/> needs when chunks of up to <paramref name="chunk"/> rows are appended: the
    /// chunk's first query sees W − 1 older keys, so W − 1 + chunk, never more than the capacity.
    /// </summary>
    public int RingRows(int layer, int chunk) => (int)Math.Min(Capacity, (long)Window(layer) - 1 + Math.Max(1, chunk));

    public static KvCacheShape Of(Models.ModelConfig c, int capacity) => new(c.LayerCount, c.HeadCount, c.KvHeadCount, c.HeadDim, capacity)
    {
        Windows = c.LayerWindows(),
        AttnSoftcap = c.AttnLogitSoftcap,
    };

    /// <summary>q̄: the mean of the query heads that share KV head <paramref name="kvHead"/> (GQA), from one query row.</summary>
    public void GroupMean(ReadOnlySpan<float> qRow, int kvHead, Span<float> qbar) =>
        Sparse.GroupQuery.Mean(qRow.Slice(kvHead * GroupSize * HeadDim, GroupSize * HeadDim), HeadDim, qbar);
}
