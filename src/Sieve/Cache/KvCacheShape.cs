namespace Sieve.Cache;

/// <summary>The sizes a cache needs from the model.</summary>
public sealed record KvCacheShape(int Layers, int Heads, int KvHeads, int HeadDim, int Capacity)
{
    public int KvDim => KvHeads * HeadDim;
    public int GroupSize => Heads / KvHeads;
    public static KvCacheShape Of(Models.ModelConfig c, int capacity) => new(c.LayerCount, c.HeadCount, c.KvHeadCount, c.HeadDim, capacity);

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
