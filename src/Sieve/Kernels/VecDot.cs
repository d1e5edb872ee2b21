using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Sieve.Tensors;

namespace Sieve.Kernels;

/// <summary>Dot product of one stored weight row with one activation row in the paired format. (Placeholder: F32 only.)</summary>
public static unsafe class VecDot
{
    public static float Dot(GgmlType weightType, byte* w, byte* x, int n) => weightType switch
    {
        GgmlType.F32 => TensorPrimitives.Dot(new ReadOnlySpan<float>(w, n), new ReadOnlySpan<float>(x, n)),
        _ => DotScalar(weightType, w, x, n),
    };

    public static float DotScalar(GgmlType weightType, byte* w, byte* x, int n)
    {
        if (weightType is GgmlType.F16 or GgmlType.BF16)
        {
            Span<float> tmp = n <= 8192 ? stackalloc float[n] : new float[n];
            Dequantize.Row(weightType, new ReadOnlySpan<byte>(w, n * 2), tmp);
            return TensorPrimitives.Dot(tmp, new ReadOnlySpan<float>(x, n));
        }
        float sum = 0;
        for (int i = 0; i < n; i++) sum += ((float*)w)[i] * ((float*)x)[i];
        return sum;
    }
}
