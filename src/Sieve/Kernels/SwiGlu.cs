using System.Numerics.Tensors;

namespace Sieve.Kernels;

/// <summary>SwiGLU gate: gate ← silu(gate) ⊙ up, where silu(g) = g·σ(g).</summary>
public static class SwiGlu
{
    public static void Apply(Span<float> gate, ReadOnlySpan<float> up)
    {
        // silu(g) = g / (1 + e^-g); TensorPrimitives.Sigmoid vectorises the exp.
        Span<float> tmp = gate.Length <= 4096 ? stackalloc float[gate.Length] : new float[gate.Length];
        TensorPrimitives.Sigmoid(gate, tmp);
        TensorPrimitives.Multiply(gate, tmp, gate);
        TensorPrimitives.Multiply(gate, up, gate);
    }

    public static void Scalar(Span<float> gate, ReadOnlySpan<float> up)
    {
        for (int i = 0; i < gate.Length; i++)
        {
            float g = gate[i];
            gate[i] = g * (1f / (1f + MathF.Exp(-g))) * up[i];
        }
    }
}
