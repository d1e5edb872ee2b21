using System.Numerics.Tensors;
using Sieve.Models;

namespace Sieve.Kernels;

/// <summary>
/// act(gate) alone, in place: silu for SwiGLU, gelu_tanh for Gemma's GeGLU. The same operations, in the same order, as
/// the fused <see cref="SwiGlu"/> and <see cref="GeGlu"/> before their final product with up, so act ⊙ up computed
/// in two steps is bit-identical to the fused kernel (calibration hooks and CHESS's gate mask sit between them).
/// </summary>
public static class GatedActivation
{
    public static void Apply(FfnActivation activation, Span<float> gate)
    {
        const int Chunk = 1024;
        Span<float> t = stackalloc float[Chunk];
        for (int i = 0; i < gate.Length; i += Chunk)
        {
            int m = Math.Min(Chunk, gate.Length - i);
            var g = gate.Slice(i, m);
            var a = t[..m];
            if (activation == FfnActivation.GeluTanh) GeGlu.HalfOnePlusTanh(g, a);
            else TensorPrimitives.Sigmoid(g, a);
            TensorPrimitives.Multiply(g, a, g);
        }
    }
}
