using System.Numerics.Tensors;

namespace Sieve.Kernels;

/// <summary>In-place softmax, max-subtracted for stability.</summary>
public static class Softmax
{
    public static void Apply(Span<float> x)
    {
        if (x.IsEmpty) return;
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, x);
        TensorPrimitives.Exp(x, x);
        float sum = TensorPrimitives.Sum(x);
        TensorPrimitives.Divide(x, sum, x);
    }

    public static void Scalar(Span<float> x)
    {
        if (x.IsEmpty) return;
        float max = x[0];
        for (int i = 1; i < x.Length; i++) if (x[i] > max) max = x[i];
        float sum = 0;
        for (int i = 0; i < x.Length; i++) { x[i] = MathF.Exp(x[i] - max); sum += x[i]; }
        for (int i = 0; i < x.Length; i++) x[i] /= sum;
    }
}
