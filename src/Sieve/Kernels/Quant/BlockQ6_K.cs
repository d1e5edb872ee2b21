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
    /// Quants are kept unsigned (0…63) for vpdpbusd; the −32 offset returns as −32·Σ_j scale_j·(Σ q_x over sub-block
    /// j), from Q8_K's stored sums. A 32-lane vector spans two 16-value sub-blocks, so its eight lane sums are
    /// weighted by [scale_a ×4, scale_b ×4] before the single reduction per block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(byte* w, byte* x, int n)
    {
        if (!Avx2.IsSupported) return DotScalar(w, x, n);
        float sum = 0;
        var low4 = Vector256.Create((byte)0x0F);
        var low2 = Vector256.Create((byte)0x03);
        for (int b = 0; b < n / Size; b++, w += Bytes, x += BlockQ8_K.Bytes)
        {
            byte* ql = w, qh = w + 128;
            sbyte* sc = (sbyte*)(w + 192);
            sbyte* qx = BlockQ8_K.Quants(x);
            short* sums = BlockQ8_K.Sums(x);
            var acc = Vector256<int>.Zero;
            for (int half = 0; half < 2; half++, ql += 64, qh += 32, sc += 8, qx += 128)
            {
                var l0 = Vector256.Load(ql);
                var l1 = Vector256.Load(ql + 32);
                var h = Vector256.Load(qh);
                var q1 = (l0 & low4) | Vector256.ShiftLeft((h & low2).AsUInt16(), 4).AsByte();
                var q2 = (l1 & low4) | Vector256.ShiftLeft((Vector256.ShiftRightLogical(h.AsUInt16(), 2).AsByte() & low2).AsUInt16(), 4).AsByte();
                var q3 = (Vector256.ShiftRightLogical(l0.AsUInt16(), 4).AsByte() & low4) | Vector256.ShiftLeft((Vector256.ShiftRightLogical(h.AsUInt16(), 4).AsByte() & low2).AsUInt16(), 4).AsByte();
                var q4 = (Vector256.ShiftRightLogical(l1.AsUInt16(), 4).AsByte() & low4) | Vector256.ShiftLeft((Vector256.ShiftRightLogical(h.AsUInt16(), 6).AsByte() & low2).AsUInt16(), 4).AsByte();
                acc += Avx2.MultiplyLow(BlockQ4_K.UnsignedDot(q1, Vector256.Load(qx)), Pair(sc[0], sc[1]));
                acc += Avx2.MultiplyLow(BlockQ4_K.UnsignedDot(q2, Vector256.Load(qx + 32)), Pair(sc[2], sc[3]));
                acc += Avx2.MultiplyLow(BlockQ4_K.UnsignedDot(q3, Vector256.Load(qx + 64)), Pair(sc[4], sc[5]));
                acc += Avx2.MultiplyLow(BlockQ4_K.UnsignedDot(q4, Vector256.Load(qx + 96)), Pair(sc[6], sc[7]));
            }
            sc = (sbyte*)(w + 192);
            int offset = 0;
            for (int j = 0; j < 16; j++) offset += sc[j] * sums[j];
            sum += Fp16.Load(w + 208) * BlockQ8_K.Scale(x) * (Vector256.Sum(acc) - 32 * offset);
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Pair(int a, int b) => Vector256.Create(a, a, a, a, b, b, b, b);

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
