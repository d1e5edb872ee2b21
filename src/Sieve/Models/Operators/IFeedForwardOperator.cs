namespace Sieve.Models.Operators;

/// <summary>The feed-forward branch of one layer, down(act(x·W_gate) ⊙ x·W_up), over n rows.</summary>
public interface IFeedForwardOperator
{
    /// <param name="x">n rows of the FFN norm's output (dim wide).</param>
    /// <param name="output">n rows of the branch's output (dim wide), before any post-FFN norm.</param>
    void Apply(OperatorContext ctx, ReadOnlySpan<float> x, int n, Span<float> output);
}
