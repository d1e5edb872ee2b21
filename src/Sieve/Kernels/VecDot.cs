using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Sieve.Kernels.Quant;
using Sieve.Tensors;

namespace Sieve.Kernels;

/// <summary>
/// Dot product of one stored weight row with one activation row already in the weight type's vec-dot format
/// (<see cref="TypeInfo.VecDotType"/>: F32 for float weights, Q8_0 for Q8_0/Q4_0, Q8_K for K-quants).
/// </summary>
public static unsafe class VecDot
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(GgmlType weightType, byte* w, byte* x, int n) => weightType switch
    {
        GgmlType.Q8_0 => BlockQ8_0.Dot(w, x, n),
        GgmlType.Q4_0 => BlockQ4_0.Dot(w, x, n),
        GgmlType.Q4_K => BlockQ4_K.Dot(w, x, n),
        GgmlType.Q6_K => BlockQ6_K.Dot(w, x, n),
        GgmlType.F32 => TensorPrimitives.Dot(new ReadOnlySpan<float>(w, n), new ReadOnlySpan<float>(x, n)),
        GgmlType.F16 => FloatDot.F16(w, (float*)x, n),
        GgmlType.BF16 => FloatDot.Bf16(w, (float*)x, n),
        _ => throw new NotSupportedException($"no dot product for {weightType}"),
    };

    /// <summary>The scalar references the SIMD kernels are tested against.</summary>
    public static float DotScalar(GgmlType weightType, byte* w, byte* x, int n)
    {
        switch (weightType)
        {
            case GgmlType.Q8_0: return BlockQ8_0.DotScalar(w, x, n);
            case GgmlType.Q4_0: return BlockQ4_0.DotScalar(w, x, n);
            case GgmlType.Q4_K: return BlockQ4_K.DotScalar(w, x, n);
            case GgmlType.Q6_K: return BlockQ6_K.DotScalar(w, x, n);
            case GgmlType.F32:
            case GgmlType.F16:
            case GgmlType.BF16:
            {
                var row = new float[n];
                Dequantize.Row(weightType, new ReadOnlySpan<byte>(w, (int)TypeTraits.Of(weightType).RowBytes(n)), row);
                float s = 0;
                for (int i = 0; i < n; i++) s += row[i] * ((float*)x)[i];
                return s;
            }
            default: throw new NotSupportedException($"no dot product for {weightType}");
        }
    }
}
