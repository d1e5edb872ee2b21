using System.Runtime.InteropServices;
using Sieve.Kernels.Quant;
using Sieve.Tensors;

namespace Sieve.Kernels;

/// <summary>Converts one stored row of any supported type to F32, bit-identical to llama.cpp's reference.</summary>
public static unsafe class Dequantize
{
    public static void Row(GgmlType type, ReadOnlySpan<byte> src, Span<float> dst)
    {
        int n = dst.Length;
        long need = TypeTraits.Of(type).RowBytes(n);
        if (src.Length < need) throw new ArgumentException($"{type} row of {n} values needs {need} bytes, got {src.Length}");
        if (type == GgmlType.F32) { MemoryMarshal.Cast<byte, float>(src)[..n].CopyTo(dst); return; }
        if (type == GgmlType.F16) { System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(src)[..n], dst); return; }
        fixed (byte* s = src)
        fixed (float* d = dst)
        {
            switch (type)
            {
                case GgmlType.BF16:
                    for (int i = 0; i < n; i++) d[i] = BitConverter.Int32BitsToSingle(((ushort*)s)[i] << 16);
                    break;
                case GgmlType.Q8_0: BlockQ8_0.Dequantize(s, d, n); break;
                case GgmlType.Q4_0: BlockQ4_0.Dequantize(s, d, n); break;
                case GgmlType.Q4_K: BlockQ4_K.Dequantize(s, d, n); break;
                case GgmlType.Q6_K: BlockQ6_K.Dequantize(s, d, n); break;
                case GgmlType.Q8_K: BlockQ8_K.Dequantize(s, d, n); break;
                default: throw new NotSupportedException($"dequantizing {type} is not supported");
            }
        }
    }
}
