using Sieve.Kernels.Sparse;
using Sieve.Models.Operators;
using Sieve.Tensors;

namespace Sieve.Sparsity;

/// <summary>
/// A projection whose input is thresholded first (CHESS+'s q_proj and o_proj, every TEAL projection): values with
/// |x| &lt; θ are zeroed in a copy (the input itself is left alone: k_proj and v_proj may read it dense). A single
/// row (decode) then reads only the input-major weight rows of the surviving inputs; several rows (prefill, a
/// batched step) run the dense matmul on the masked copy, since their union of surviving inputs is nearly dense.
/// </summary>
/// With <c>inputMajorOnly</c> several rows go through the input-major copy too, one sparse product a row, so the
/// row-major weight is never read (a user who keeps only one copy resident).
sealed class ThresholdedLinear(WeightTensor weight, InputMajorWeight? inputMajor, float threshold, int layer, SparseSite site, bool countSite, SparsityStats stats,
    bool inputMajorOnly = false) : ILinearOperator
{
    public void Apply(OperatorContext ctx, ReadOnlySpan<float> x, int n, Span<float> y)
    {
        int width = weight.Cols;
        var masked = ctx.Scratch(n * width);
        long zeros = ThresholdMask.Apply(x[..(n * width)], threshold, masked);
        if (countSite) stats.Add(layer, site, zeros, (long)n * width);
        if (n == 1 && inputMajor != null)
        {
            ctx.SparseInput.Apply(inputMajor, masked, y);
            stats.AddDecodeBytes(ctx.SparseInput.LastBytesRead);
        }
        else if (inputMajorOnly && inputMajor != null) ctx.SparseInput.ApplyRows(inputMajor, masked, n, y);
        else
        {
            ctx.MatMul.Apply(weight, masked, n, y);
            if (n == 1) stats.AddDecodeBytes(weight.ByteLength);
        }
    }
}

/// <summary>A dense projection inside a sparse set, counted so that the bytes a decode step reads add up.</summary>
sealed class CountedLinear(WeightTensor weight, SparsityStats stats) : ILinearOperator
{
    public void Apply(OperatorContext ctx, ReadOnlySpan<float> x, int n, Span<float> y)
    {
        ctx.MatMul.Apply(weight, x, n, y);
        if (n == 1) stats.AddDecodeBytes(weight.ByteLength);
    }
}
