using System.Numerics.Tensors;

namespace Sieve.Cache.Sparse;

/// <summary>What selectors do with the G query heads that share one KV head.</summary>
public static class GroupQuery
{
    /// <summary>q̄, the mean of the group's heads (G × headDim in, headDim out): the query Quest and Self-Indexing rank by.</summary>
    public static void Mean(ReadOnlySpan<float> heads, int headDim, Span<float> mean)
    {
        mean = mean[..headDim];
        mean.Clear();
        int g = heads.Length / headDim;
        for (int i = 0; i < g; i++) TensorPrimitives.Add(mean, heads.Slice(i * headDim, headDim), mean);
        TensorPrimitives.Multiply(mean, 1f / g, mean);
    }
}
