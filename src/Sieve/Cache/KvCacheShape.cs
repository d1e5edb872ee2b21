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

    public int KvDim => KvHeads * HeadDim;
    public int GroupSize => Heads / KvHeads;

    /// <summary>Layer <paramref name="layer"/>'s window, 0 when it is global.</summary>
    public int Window(int layer) => Windows is { } w ? w[layer] : 0;

    public bool IsSliding(int layer) => Window(layer) > 0;

    public bool HasSlidingLayers => Windows is { } w && Array.Exists(w, x => x > 0);

    /// <summary>The first position a query at <paramref name="pos"/> of <paramref name="layer"/> may attend to.</summary>
    public int FirstVisible(int layer, int pos) => Window(layer) is var w and > 0 ? Math.Max(0, pos - w + 1) : 0;

    public static KvCacheShape Of(Models.ModelConfig c, int capacity) => new(c.LayerCount, c.HeadCount, c.KvHeadCount, c.HeadDim, capacity)
    {
        Windows = c.LayerWindows(),
        AttnSoftcap = c.AttnLogitSoftcap,
    };

    /// <summary>q̄: the mean of the query heads that share KV head <paramref name="kvHead"/> (GQA), from one query row.</summary>
    public void GroupMean(ReadOnlySpan<float> qRow, int kvHead, Span<float> qbar)
    {
        qbar = qbar[..HeadDim];
        qbar.Clear();
        for (int i = 0; i < GroupSize; i++)
            System.Numerics.Tensors.TensorPrimitives.Add(qbar, qRow.Slice((kvHead * GroupSize + i) * HeadDim, HeadDim), qbar);
        System.Numerics.Tensors.TensorPrimitives.Multiply(qbar, 1f / GroupSize, qbar);
    }
}
