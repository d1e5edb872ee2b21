using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Sieve.Tensors;

namespace Sieve.Kernels.Quant;

/// <summary>
/// One Q8_0 weight row against four Q8_0 activation rows: a batched decode step's inner kernel. Each weight block is
/// loaded, and its |q| taken, once for four products instead of four times; the activation rows (4 × ~2 KB) stay in
/// L1 while the weight row streams past. Every product is computed exactly as <see cref="BlockQ8_0.Dot"/> computes
/// it — the same block products, one accumulator in the same order, the same final sum — so a sequence's logits
/// in a batch equal its logits alone, bit for bit.
/// </summary>
/// <remarks>
/// On AVX2 without VNNI (the development machine of issue 9) four rows at once ran batched decode ~1.4× faster than
/// four <see cref="BlockQ8_0.Dot"/> calls: the loads, the |q| and the f16 scale lookups of the weight are shared.
/// </remarks>
public static unsafe class Q8_0Rows
{
    public static bool IsSupported => Avx2.IsSupported;

    /// <summary>The activation rows' block scales as floats, <paramref name="blocks"/> per row: looked up once per
    /// matrix product rather than once per weight row (the f16 table is 256 KB; a lookup per block product cost a
    /// third of the kernel's time).</summary>
    public static void Scales(byte* x, long xRowBytes, int rows, int blocks, float* scales)
    {
        for (int j = 0; j < rows; j++)
            for (int b = 0; b < blocks; b++) scales[j * blocks + b] = Fp16.Load(x + j * xRowBytes + b * BlockQ8_0.Bytes);
    }

    /// <summary>y[j·yStride] = w · x_j for j = 0..3 (x rows <paramref name="xRowBytes"/> apart, their block scales
    /// from <see cref="Scales"/>, n/32 per row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot1x4(byte* w, byte* x, long xRowBytes, float* xScales, int n, float* y, long yStride)
    {
        const int B = BlockQ8_0.Bytes;
        int blocks = n / BlockQ8_0.Size;
        byte* x0 = x, x1 = x + xRowBytes, x2 = x + 2 * xRowBytes, x3 = x + 3 * xRowBytes;
        float* s0 = xScales, s1 = s0 + blocks, s2 = s1 + blocks, s3 = s2 + blocks;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int b = 0; b < blocks; b++, w += B, x0 += B, x1 += B, x2 += B, x3 += B)
        {
            var q = Vector256.Load((sbyte*)(w + 2));
            var a = Avx2.Abs(q);
            float d = Fp16.Load(w);
            a0 = Step(a0, a, q, x0, d * s0[b]); a1 = Step(a1, a, q, x1, d * s1[b]);
            a2 = Step(a2, a, q, x2, d * s2[b]); a3 = Step(a3, a, q, x3, d * s3[b]);
        }
        y[0] = Vector256.Sum(a0);
        y[yStride] = Vector256.Sum(a1);
        y[2 * yStride] = Vector256.Sum(a2);
        y[3 * yStride] = Vector256.Sum(a3);
    }

    /// <summary>As <see cref="Dot1x4"/> for two rows (a batch of two or three sequences, and the rest of four).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot1x2(byte* w, byte* x, long xRowBytes, float* xScales, int n, float* y, long yStride)
    {
        const int B = BlockQ8_0.Bytes;
        int blocks = n / BlockQ8_0.Size;
        byte* x0 = x, x1 = x + xRowBytes;
        float* s0 = xScales, s1 = s0 + blocks;
        Vector256<float> a0 = default, a1 = default;
        for (int b = 0; b < blocks; b++, w += B, x0 += B, x1 += B)
        {
            var q = Vector256.Load((sbyte*)(w + 2));
            var a = Avx2.Abs(q);
            float d = Fp16.Load(w);
            a0 = Step(a0, a, q, x0, d * s0[b]);
            a1 = Step(a1, a, q, x1, d * s1[b]);
        }
        y[0] = Vector256.Sum(a0);
        y[yStride] = Vector256.Sum(a1);
    }

    /// <summary>acc + d_w·d_x·(q_w·q_x) over one block, as <see cref="BlockQ8_0.BlockDot"/> forms it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Step(Vector256<float> acc, Vector256<byte> absW, Vector256<sbyte> qw, byte* xBlock, float scale)
    {
        var sx = Avx2.Sign(Vector256.Load((sbyte*)(xBlock + 2)), qw);
        var dot = AvxVnni.IsSupported
            ? AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, absW, sx)
            : Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(absW, sx), Vector256<short>.One);
        return Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(dot), Vector256.Create(scale), acc);
    }
}
