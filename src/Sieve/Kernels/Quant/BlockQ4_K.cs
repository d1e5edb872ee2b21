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
    /// Σ d·d_x·Σ_j scale_j·(q·q_x over sub-block j) − dmin·d_x·Σ_j min_j·(Σ q_x over sub-block j), the second sum
    /// from Q8_K's stored partial sums. Scales and mins are decoded in a register; nibble·activation pairs go
    /// through vpmaddubsw, are weighted by their scales with vpdpwssd, and accumulate in float across blocks.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(byte* w, byte* x, int n)
    {
        if (!Avx2.IsSupported) return DotScalar(w, x, n);
        var low4 = Vector256.Create((byte)0x0F);
        var s0 = Spread(0); var s1 = Spread(1); var s2 = Spread(2); var s3 = Spread(3);
        var s4 = Spread(4); var s5 = Spread(5); var s6 = Spread(6); var s7 = Spread(7);
        // Each min twice, to pair with the two 16-value sums of its 32-value sub-block.
        var minsTwice = Vector128.Create((byte)8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
        Vector256<float> acc = default, accMin = default;
        for (int b = 0; b < n / Size; b++, w += Bytes, x += BlockQ8_K.Bytes)
        {
            float dx = BlockQ8_K.Scale(x);
            var d = Vector256.Create(Fp16.Load(w) * dx);
            var dmin = Vector256.Create(Fp16.Load(w + 2) * dx);
            var scMin = UnpackScaleMins(w + 4);
            var mins16 = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(scMin, minsTwice)).AsInt16();
            var bsums = Vector256.Load(BlockQ8_K.Sums(x));
            accMin = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(bsums, mins16)), dmin, accMin);
            var sc16 = Avx2.ConvertToVector256Int16(scMin).AsInt16().GetLower();
            var scales = Vector256.Create(sc16, sc16).AsByte();
            byte* q = w + 16;
            sbyte* qx = BlockQ8_K.Quants(x);
            // Two chains: eight dependent vpdpwssd in a row would be latency-bound.
            var sumA = SubBlockPair(default, q, qx, low4, Avx2.Shuffle(scales, s0), Avx2.Shuffle(scales, s1));
            var sumB = SubBlockPair(default, q + 32, qx + 64, low4, Avx2.Shuffle(scales, s2), Avx2.Shuffle(scales, s3));
            sumA = SubBlockPair(sumA, q + 64, qx + 128, low4, Avx2.Shuffle(scales, s4), Avx2.Shuffle(scales, s5));
            sumB = SubBlockPair(sumB, q + 96, qx + 192, low4, Avx2.Shuffle(scales, s6), Avx2.Shuffle(scales, s7));
            acc = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(sumA + sumB), d, acc);
        }
        return Vector256.Sum(acc - accMin);
    }

    /// <summary>32 bytes of nibbles: low nibbles against qx[0..32), high against qx[32..64). vpmaddubsw stays within int16 (2·15·128).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> SubBlockPair(Vector256<int> sum, byte* q, sbyte* qx, Vector256<byte> low4, Vector256<byte> scaleLo, Vector256<byte> scaleHi)
    {
        var v = Vector256.Load(q);
        var lo = v & low4;
        var hi = Avx2.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & low4;
        sum = Int16Pairs.MulAdd(sum, Avx2.MultiplyAddAdjacent(lo, Vector256.Load(qx)), scaleLo.AsInt16());
        return Int16Pairs.MulAdd(sum, Avx2.MultiplyAddAdjacent(hi, Vector256.Load(qx + 32)), scaleHi.AsInt16());
    }

    /// <summary>vpshufb control spreading int16 scale k over every lane.</summary>
    static Vector256<byte> Spread(int k)
    {
        byte lo = (byte)(2 * k), hi = (byte)(2 * k + 1);
        return Vector256.Create(lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi,
                                lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi);
    }

    /// <summary>
    /// The eight 6-bit scales as bytes 0–7 and mins as bytes 8–15, decoded in a register. With the 12 packed bytes
    /// as words a, b, c: a&amp;low6, (c&amp;low4)|(a's top bits)>>2, b&amp;low6, (c>>4&amp;low4)|(b's top bits)>>2. Reads 16
    /// bytes; the last 4 belong to the quants and are masked away by the shuffles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<byte> UnpackScaleMins(byte* s)
    {
        var v = Vector128.Load((uint*)s);
        var acbc = Sse2.Shuffle(v, 0b_10_01_10_00);
        var aabb = Sse2.Shuffle(v, 0b_01_01_00_00);
        var low = acbc & Vector128.Create(0x3F3F3F3Fu);
        var high = (Avx2.ShiftRightLogicalVariable(acbc, Vector128.Create(0u, 0, 0, 4)) & Vector128.Create(0x0F0F0F0Fu))
                 | ((aabb & Vector128.Create(0xC0C0C0C0u)) >> 2);
        return Sse41.Blend(low.AsSingle(), high.AsSingle(), 0b_1010).AsByte();
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
