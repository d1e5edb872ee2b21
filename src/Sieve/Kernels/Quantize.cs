using System.Runtime.InteropServices;
using Sieve.Kernels.Quant;
using Sieve.Tensors;

namespace Sieve.Kernels;

/// <summary>Converts one F32 row into a stored type: weights when converting, activations before a dot product.</summary>
public static unsafe class Quantize
{
    public static void Row(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst)
    {
        int n = src.Length;
        var info = TypeTraits.Of(type);
        if (n % info.BlockSize != 0) throw new ArgumentException($"{info.Name} needs rows in multiples of {info.BlockSize}, got {n}");
        if (dst.Length < info.RowBytes(n)) throw new ArgumentException($"{info.Name} row of {n} values needs {info.RowBytes(n)} bytes");
        switch (type)
        {
            case GgmlType.F32: MemoryMarshal.AsBytes(src).CopyTo(dst); return;
            case GgmlType.F16: System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(src, MemoryMarshal.Cast<byte, Half>(dst)); return;
        }
        fixed (float* s = src)
        fixed (byte* d = dst)
        {
            switch (type)
            {
                case GgmlType.BF16:
                    for (int i = 0; i < n; i++) ((ushort*)d)[i] = ToBf16(s[i]);
                    break;
                case GgmlType.Q8_0: BlockQ8_0.Quantize(s, d, n); break;
                case GgmlType.Q4_0: BlockQ4_0.Quantize(s, d, n); break;
                case GgmlType.Q8_K: BlockQ8_K.Quantize(s, d, n); break;
                default: throw new NotSupportedException($"quantizing to {info.Name} is not supported (F32, F16, BF16, Q8_0, Q4_0 are)");
            }
        }
    }

    /// <summary>Round to nearest even, NaN kept quiet — as ggml's fp32→bf16.</summary>
    static ushort ToBf16(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7fffffff) > 0x7f800000) return (ushort)((u >> 16) | 64);
        return (ushort)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
    }
}
