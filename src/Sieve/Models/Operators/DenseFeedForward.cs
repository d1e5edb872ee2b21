using Sieve.Kernels;

namespace Sieve.Models.Operators;

/// <summary>
/// The default FFN: gate and up as dense matmuls, the gated activation (SwiGLU or Gemma's GeGLU, from the block spec)
/// fused, then down. Bit-identical to the forward pass before operators existed; when a hook wants act(gate) or up
/// alone it computes them apart, with the same operations in the same order.
/// </summary>
public sealed class DenseFeedForward(LayerWeights weights, FfnActivation activation) : IFeedForwardOperator
{
    public LayerWeights Weights { get; } = weights;
    public FfnActivation Activation { get; } = activation;

    public void Apply(OperatorContext ctx, ReadOnlySpan<float> x, int n, Span<float> output)
    {
        var w = Weights;
        int ffn = w.Gate.Rows;
        var hb = ctx.Hidden(n);
        var hb2 = ctx.Hidden2(n);
        ctx.MatMul.Apply(w.Gate, x, n, hb);
        ctx.MatMul.Apply(w.Up, x, n, hb2);
        if (ctx.Wants(ActivationSite.GateAct) || ctx.Wants(ActivationSite.Up))
        {
            GatedActivation.Apply(Activation, hb);
            ctx.Emit(ActivationSite.GateAct, ffn, hb);
            ctx.Emit(ActivationSite.Up, ffn, hb2);
            System.Numerics.Tensors.TensorPrimitives.Multiply(hb, hb2, hb);
        }
        else if (Activation == FfnActivation.GeluTanh) GeGlu.Apply(hb, hb2);
        else SwiGlu.Apply(hb, hb2);
        ctx.Emit(ActivationSite.FfnAct, ffn, hb);
        ctx.MatMul.Apply(w.Down, hb, n, output);
    }
}
