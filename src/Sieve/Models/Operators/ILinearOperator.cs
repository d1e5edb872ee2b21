namespace Sieve.Models.Operators;

/// <summary>One projection of one layer: y = x·Wᵀ over n rows, however the method computes it.</summary>
public interface ILinearOperator
{
    /// <param name="x">n rows of the projection's input; operators must not write it (Wk and Wv read what Wq read).</param>
    /// <param name="y">n rows of outputs.</param>
    void Apply(OperatorContext ctx, ReadOnlySpan<float> x, int n, Span<float> y);
}
