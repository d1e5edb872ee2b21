using Sieve.Tensors;

namespace Sieve.Models.Operators;

/// <summary>The default projection: the weight's own matmul, exactly as the forward pass always ran it.</summary>
public sealed class DenseLinear(WeightTensor weight) : ILinearOperator
{
    public WeightTensor Weight { get; } = weight;

    public void Apply(OperatorContext ctx, ReadOnlySpan<float> x, int n, Span<float> y)
    {
        ctx.MatMul.Apply(Weight, x, n, y);
    }
}
