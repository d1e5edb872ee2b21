using System.Numerics.Tensors;

namespace Sieve.Kernels;

/// <summary>Gemma 2's soft-capping: x ← c·tanh(x / c), which keeps logits inside (−c, c) while leaving small ones nearly unchanged.</summary>
public static class Softcap
{
    public static void Apply(Span<float> x, float cap)
    {
        TensorPrimitives.Multiply(x, 1f / cap, x);
        TensorPrimitives.Tanh(x, x);
        TensorPrimitives.Multiply(x, cap, x);
    }

    /// <summary>The scalar reference.</summary>
    public static void Scalar(Span<float> x, float cap)
    {
        for (int i = 0; i < x.Length; i++) x[i] = cap * MathF.Tanh(x[i] / cap);
    }
}
