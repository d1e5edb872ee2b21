using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using Sieve.Tensors;

namespace Sieve.Kernels.Quant;

/// <summary>
/// Q4_0: blocks of 32 values as one f16 scale d and 16 bytes of 4-bit quants; value j is d·(lo nibble − 8) and
/// value j+16 is d·(hi nibble − 8) of byte j. 18 bytes per block; multiplied with Q8_0 activations.
/// </summary>
public static unsafe class BlockQ4_0
{
    public const int Size = 32;
    public const int Bytes = 18;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dequantize(byte* src, float* dst, int n)
    {
        for (int b = 0; b < n / Size; b++, src += Bytes, dst += Size)
        {
            float d = Fp16.Load(src);
            byte* q = src + 2;
            for (int j = 0; j < 16; j++)
            {
                dst[j] = ((q[j] & 0x0F) - 8) * d;
                dst[j + 16] = ((q[j] >> 4) - 8) * d;
            }
        }
    }

    /// <summary>llama.cpp's reference rule: d = (signed value of max |x|)/−8, q = min(15, trunc(x/d + 8.5)).</summary>
    public static void Quantize(float* x, byte* dst, int n)
    {
        for (int b = 0; b < n / Size; b++, x += Size, dst += Bytes)
        {
            float amax = 0, max = 0;
            for (int i = 0; i < Size; i++)
            {
                if (amax < MathF.Abs(x[i])) { amax = MathF.Abs(x[i]); max = x[i]; }
            }
            float d = max / -8f;
            float id = d != 0 ? 1f / d : 0f;
            *(Half*)dst = (Half)d;
            byte* q = dst + 2;
            for (int j = 0; j < 16; j++)
            {
                // C's (int8_t) cast truncates toward zero; the argument is ≥ 0.5 here, so truncation is floor.
                int lo = Math.Min(15, (int)(sbyte)(x[j] * id + 8.5f));
                int hi = Math.Min(15, (int)(sbyte)(x[j + 16] * id + 8.5f));
                q[j] = (byte)(lo | (hi << 4));
            }
        }
    }

    public static float DotScalar(byte* w, byte* x, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / Size; b++, w += Bytes, x += BlockQ8_0.Bytes)
        {
            int s = 0;
            byte* q = w + 2;
            sbyte* qx = (sbyte*)(x + 2);
            for (int j = 0; j < 16; j++) s += ((q[j] & 0x0F) - 8) * qx[j] + ((q[j] >> 4) - 8) * qx[j + 16];
            sum += s * (Fp16.Load(w) * Fp16.Load(x));
        }
        return sum;
    }

    /// <summary>
    /// Nibbles unpack to 0..15 (unsigned, as vpdpbusd wants); the −8 offset comes back as −8·Σq_x, which one
    /// more vpdpbusd against a vector of 8s yields for free.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(byte* w, byte* x, int n)
    {
        if (!Avx2.IsSupported) return DotScalar(w, x, n);
        int blocks = n / Size;
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < blocks; b++, w += Bytes, x += BlockQ8_0.Bytes)
            acc = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(BlockDot(w + 2, x + 2)),
                Vector256.Create(Fp16.Load(w) * Fp16.Load(x)), acc);
        return Vector256.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> BlockDot(byte* q, byte* qx)
    {
        var packed = Vector128.Load(q);
        var lo = packed & Vector128.Create((byte)0x0F);
        var hi = Vector128.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & Vector128.Create((byte)0x0F);
        var nibbles = Vector256.Create(lo, hi);   // value j in lane j, value j+16 in lane j+16: the Q8_0 order
        var vx = Vector256.Load((sbyte*)qx);
        if (AvxVnni.IsSupported)
        {
            var dot = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, nibbles, vx);
            var offset = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Vector256.Create((byte)8), vx);
            return dot - offset;
        }
        var ones = Vector256<short>.One;
        var d = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(nibbles, vx), ones);
        var o = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.Create((byte)8), vx), ones);
        return d - o;
    }

    /// <summary>
    /// Rewrites a Q4_0 row as Q8_0 exactly: same scale, quants nibble − 8 (−8…7), so prefill can run Q4_0 weights
    /// through the Q8_0 tile kernel without any rounding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RepackAsQ8_0(byte* src, byte* dst, int n)
    {
        for (int b = 0; b < n / Size; b++, src += Bytes, dst += BlockQ8_0.Bytes)
        {
            *(ushort*)dst = *(ushort*)src;
            byte* q = src + 2;
            sbyte* o = (sbyte*)(dst + 2);
            for (int j = 0; j < 16; j++)
            {
                o[j] = (sbyte)((q[j] & 0x0F) - 8);
                o[j + 16] = (sbyte)((q[j] >> 4) - 8);
            }
        }
    }
}
