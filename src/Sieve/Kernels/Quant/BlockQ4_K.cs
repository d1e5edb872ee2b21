using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using Sieve.Tensors;

namespace Sieve.Kernels.Quant;

/// <summary>
/// Q4_K: super-blocks of 256 values in 8 sub-blocks of 32. Layout: f16 d, f16 dmin, 12 bytes packing eight 6-bit
/// scales and eight 6-bit mins, 128 bytes of 4-bit quants. Value = d·scale_j·q − dmin·min_j. 144 bytes.
/// </summary>
public static unsafe class BlockQ4_K
{
    public const int Size = 256;
    public const int Bytes = 144;

    /// <summary>Scale and min of sub-block j from the 12 packed bytes (6 bits each; sub-blocks 4–7 split their top bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void ScaleMin(int j, byte* q, out int scale, out int min)
    {
        if (j < 4)
        {
            scale = q[j] & 63;
            min = q[j + 4] & 63;
        }
        else
        {
            scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
            min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dequantize(byte* src, float* dst, int n)
    {
        for (int b = 0; b < n / Size; b++, src += Bytes)
        {
            float d = Fp16.Load(src);
            float dmin = Fp16.Load(src + 2);
            byte* scales = src + 4;
            byte* q = src + 16;
            for (int j = 0, sub = 0; j < Size; j += 64, sub += 2, q += 32)
            {
                ScaleMin(sub, scales, out int sc1, out int m1);
                ScaleMin(sub + 1, scales, out int sc2, out int m2);
                float d1 = d * sc1, min1 = dmin * m1, d2 = d * sc2, min2 = dmin * m2;
                for (int l = 0; l < 32; l++) *dst++ = d1 * (q[l] & 0xF) - min1;
                for (int l = 0; l < 32; l++) *dst++ = d2 * (q[l] >> 4) - min2;
            }
        }
    }

    /// <summary>
    /// Σ d·d_x·Σ_j scale_j·(q·q_x over sub-block j) − dmin·d_x·Σ_j min_j·(Σ q_x over sub-block j); the second sum
    /// comes from Q8_K's stored partial sums. Nibbles are unsigned 0…15, exactly what vpdpbusd wants, so each
    /// 32-value sub-block is one instruction; its scale multiplies the eight lane sums before one reduction.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(byte* w, byte* x, int n)
    {
        if (!Avx2.IsSupported) return DotScalar(w, x, n);
        float sum = 0;
        var mask = Vector256.Create((byte)0x0F);
        for (int b = 0; b < n / Size; b++, w += Bytes, x += BlockQ8_K.Bytes)
        {
            byte* scales = w + 4;
            byte* q = w + 16;
            sbyte* qx = BlockQ8_K.Quants(x);
            short* sums = BlockQ8_K.Sums(x);
            var acc = Vector256<int>.Zero;
            int mins = 0;
            for (int j = 0; j < 4; j++)
            {
                var packed = Vector256.Load(q + 32 * j);
                var lo = packed & mask;
                var hi = Vector256.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & mask;
                ScaleMin(2 * j, scales, out int sc1, out int m1);
                ScaleMin(2 * j + 1, scales, out int sc2, out int m2);
                acc += Avx2.MultiplyLow(UnsignedDot(lo, Vector256.Load(qx + 64 * j)), Vector256.Create(sc1));
                acc += Avx2.MultiplyLow(UnsignedDot(hi, Vector256.Load(qx + 64 * j + 32)), Vector256.Create(sc2));
                mins += m1 * (sums[4 * j] + sums[4 * j + 1]) + m2 * (sums[4 * j + 2] + sums[4 * j + 3]);
            }
            float dx = BlockQ8_K.Scale(x);
            sum += Fp16.Load(w) * dx * Vector256.Sum(acc) - Fp16.Load(w + 2) * dx * mins;
        }
        return sum;
    }

    /// <summary>Eight int32 partial sums of u·s for unsigned u (≤ 127 here) and signed s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> UnsignedDot(Vector256<byte> u, Vector256<sbyte> s)
    {
        if (AvxVnni.IsSupported) return AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u, s);
        // u ≤ 63 keeps vpmaddubsw's int16 pair sums (≤ 2·63·128) from saturating.
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, s), Vector256<short>.One);
    }

    public static float DotScalar(byte* w, byte* x, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / Size; b++, w += Bytes, x += BlockQ8_K.Bytes)
        {
            byte* scales = w + 4;
            byte* q = w + 16;
            sbyte* qx = BlockQ8_K.Quants(x);
            int dots = 0, mins = 0;
            for (int j = 0; j < 8; j++)
            {
                ScaleMin(j, scales, out int sc, out int m);
                int s = 0, sx = 0;
                for (int l = 0; l < 32; l++)
                {
                    int i = j * 32 + l;
                    int v = (j & 1) == 0 ? q[(j / 2) * 32 + l] & 0xF : q[(j / 2) * 32 + l] >> 4;
                    s += v * qx[i];
                    sx += qx[i];
                }
                dots += sc * s;
                mins += m * sx;
            }
            float dx = BlockQ8_K.Scale(x);
            sum += Fp16.Load(w) * dx * dots - Fp16.Load(w + 2) * dx * mins;
        }
        return sum;
    }
}
