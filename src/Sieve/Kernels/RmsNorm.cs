using System.Numerics.Tensors;

namespace Sieve.Kernels;

/// <summary>RMSNorm: y = w ⊙ x / sqrt(mean(x²) + eps). <paramref name="y"/> may alias <paramref name="x"/>.</summary>
public static class RmsNorm
{
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> w, float eps, Span<float> y)
    {
        // llama2.c and ggml accumulate the sum of squares in f32 and scale x before multiplying by w; keep that
        // order so greedy text matches their oracles token for token.
        float ss = TensorPrimitives.SumOfSquares(x) / x.Length + eps;
        float scale = 1f / MathF.Sqrt(ss);
        TensorPrimitives.Multiply(x, scale, y);
        TensorPrimitives.Multiply(y, w, y);
    }

    /// <summary>The scalar reference.</summary>
    public static void Scalar(ReadOnlySpan<float> x, ReadOnlySpan<float> w, float eps, Span<float> y)
    {
        float ss = 0;
        for (int i = 0; i < x.Length; i++) ss += x[i] * x[i];
        float scale = 1f / MathF.Sqrt(ss / x.Length + eps);
        for (int i = 0; i < x.Length; i++) y[i] = w[i] * (scale * x[i]);
    }
}
