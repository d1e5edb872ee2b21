using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Sieve.Tensors;

namespace Sieve.Kernels.Quant;

/// <summary>
/// Q6_K: super-blocks of 256 values in 16 sub-blocks of 16. Layout: 128 bytes of low 4 bits, 64 bytes of high
/// 2 bits, 16 int8 scales, f16 d. Value = d·scale_j·(q − 32). 210 bytes.
/// </summary>
public static unsafe class BlockQ6_K
{
    public const int Size = 256;
    public const int Bytes = 210;

    /// <summary>The 256 six-bit quants of one block, minus 32, in value order.</summary>
    static void Unpack(byte* block, sbyte* q)
    {
        byte* ql = block, qh = block + 128;
        for (int half = 0; half < 2; half++, ql += 64, qh += 32, q += 128)
        {
            for (int l = 0; l < 32; l++)
            {
                q[l] = (sbyte)(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                q[l + 32] = (sbyte)(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                q[l + 64] = (sbyte)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                q[l + 96] = (sbyte)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dequantize(byte* src, float* dst, int n)
    {
        sbyte* q = stackalloc sbyte[Size];
        for (int b = 0; b < n / Size; b++, src += Bytes, dst += Size)
        {
            float d = Fp16.Load(src + 208);
            sbyte* sc = (sbyte*)(src + 192);
            Unpack(src, q);
            // (d·scale)·q in that order, as the reference computes it.
            for (int i = 0; i < Size; i++) dst[i] = d * sc[i / 16] * q[i];
        }
    }

    /// <summary>
    /// Keeps the quants unsigned (0…63) for vpmaddubsw against the activations, weights each int16 pair sum by its
    /// sub-block scale with vpdpwssd (vpmaddwd without VNNI), and accumulates in float across blocks; the −32 offset
    /// returns as 32·Σ scale·bsum in one vpmaddwd. No horizontal reduction until the end of the row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(byte* w, byte* x, int n)
    {
        if (!Avx2.IsSupported) return DotScalar(w, x, n);
        var low4 = Vector256.Create((byte)0x0F);
        var high2 = Vector256.Create((byte)0x30);
        // The lower 128 bits take scale 2k, the upper 2k+1: each vpmaddubsw result spans two 16-value sub-blocks.
        var c0 = ScalePair(0); var c1 = ScalePair(1); var c2 = ScalePair(2); var c3 = ScalePair(3);
        Vector256<float> acc = default;
        for (int b = 0; b < n / Size; b++, w += Bytes, x += BlockQ8_K.Bytes)
        {
            var d = Vector256.Create(Fp16.Load(w + 208) * BlockQ8_K.Scale(x));
            var sc16 = Avx2.ConvertToVector256Int16(Vector128.Load((sbyte*)(w + 192)));
            var bsums = Vector256.Load(BlockQ8_K.Sums(x));
            var offset = Avx2.ShiftLeftLogical(Avx2.MultiplyAddAdjacent(bsums, sc16), 5);
            Vector256<int> sumA = default, sumB = default;
            sbyte* qx = BlockQ8_K.Quants(x);
            for (int half = 0; half < 2; half++)
            {
                var ql0 = Vector256.Load(w + 64 * half);
                var ql1 = Vector256.Load(w + 64 * half + 32);
                var qh = Vector256.Load(w + 128 + 32 * half).AsUInt16();
                var q1 = (ql0 & low4) | (Avx2.ShiftLeftLogical(qh, 4).AsByte() & high2);
                var q2 = (ql1 & low4) | (Avx2.ShiftLeftLogical(qh, 2).AsByte() & high2);
                var q3 = (Avx2.ShiftRightLogical(ql0.AsUInt16(), 4).AsByte() & low4) | (qh.AsByte() & high2);
                var q4 = (Avx2.ShiftRightLogical(ql1.AsUInt16(), 4).AsByte() & low4) | (Avx2.ShiftRightLogical(qh, 2).AsByte() & high2);
                var sc8 = half == 0 ? sc16.GetLower() : sc16.GetUpper();
                var scales = Vector256.Create(sc8, sc8).AsByte();
                sbyte* xh = qx + 128 * half;
                sumA = Int16Pairs.MulAdd(sumA, Avx2.MultiplyAddAdjacent(q1, Vector256.Load(xh)), Avx2.Shuffle(scales, c0).AsInt16());
                sumB = Int16Pairs.MulAdd(sumB, Avx2.MultiplyAddAdjacent(q2, Vector256.Load(xh + 32)), Avx2.Shuffle(scales, c1).AsInt16());
                sumA = Int16Pairs.MulAdd(sumA, Avx2.MultiplyAddAdjacent(q3, Vector256.Load(xh + 64)), Avx2.Shuffle(scales, c2).AsInt16());
                sumB = Int16Pairs.MulAdd(sumB, Avx2.MultiplyAddAdjacent(q4, Vector256.Load(xh + 96)), Avx2.Shuffle(scales, c3).AsInt16());
            }
            acc = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(sumA + sumB - offset), d, acc);
        }
        return Vector256.Sum(acc);
    }

    /// <summary>vpshufb control spreading int16 scale 2k over the low 128 bits and 2k+1 over the high.</summary>
    static Vector256<byte> ScalePair(int k)
    {
        byte a0 = (byte)(4 * k), a1 = (byte)(4 * k + 1), b0 = (byte)(4 * k + 2), b1 = (byte)(4 * k + 3);
        return Vector256.Create(a0, a1, a0, a1, a0, a1, a0, a1, a0, a1, a0, a1, a0, a1, a0, a1,
                                b0, b1, b0, b1, b0, b1, b0, b1, b0, b1, b0, b1, b0, b1, b0, b1);
    }

    public static float DotScalar(byte* w, byte* x, int n)
    {
        float sum = 0;
        sbyte* q = stackalloc sbyte[Size];
        for (int b = 0; b < n / Size; b++, w += Bytes, x += BlockQ8_K.Bytes)
        {
            Unpack(w, q);
            sbyte* sc = (sbyte*)(w + 192);
            sbyte* qx = BlockQ8_K.Quants(x);
            int total = 0;
            for (int j = 0; j < 16; j++)
            {
                int s = 0;
                for (int i = 0; i < 16; i++) s += q[j * 16 + i] * qx[j * 16 + i];
                total += sc[j] * s;
            }
            sum += Fp16.Load(w + 208) * BlockQ8_K.Scale(x) * total;
        }
        return sum;
    }
}
