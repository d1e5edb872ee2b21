using System.Numerics.Tensors;

namespace Sieve.Kernels;

/// <summary>
/// Gemma 2's logit soft-cap, in place: x ← c·tanh(x / c). It bounds every value to (−c, c) and is strictly
/// increasing, so it never changes which of two scores is larger (a top-K taken before it picks the same tokens).
/// Gemma 2 caps attention scores at 50 and final logits at 30.
/// </summary>
public static class Softcap
{
    public static void Apply(Span<float> x, float cap)
    {
        TensorPrimitives.Multiply(x, 1f / cap, x);
        TensorPrimitives.Tanh(x, x);
        TensorPrimitives.Multiply(x, cap, x);
    }

    /// <summary>The definition, one element at a time (what <see cref="Apply"/> must agree with).</summary>
    public static void Scalar(Span<float> x, float cap)
    {
        for (int i = 0; i < x.Length; i++) x[i] = cap * MathF.Tanh(x[i] / cap);
    }
}
