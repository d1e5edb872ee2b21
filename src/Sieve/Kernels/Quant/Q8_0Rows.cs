using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Sieve.Tensors;

namespace Sieve.Kernels.Quant;

/// <summary>
/// One Q8_0 weight row against a group of eight, four or two Q8_0 activation rows: a batched decode step's inner
/// kernel (a row per sequence), and prefill's on AVX2 without the VNNI tile. Each weight block is loaded, and its |q|
/// and f16 scale taken, once for the group instead of once per product; the group's scale products d_w·d_x come from
/// one vector multiply per block and reach each row's FMA as a broadcast load; the activation rows (8 × ~2 KB) stay
/// in L1 while the weight row streams past. Every product is computed exactly as <see cref="BlockQ8_0.Dot"/> computes
/// it — the same block products, the same scale product, one accumulator in the same order, the same final sum — so
/// a sequence's logits in a batch equal its logits alone, bit for bit.
/// </summary>
/// <remarks>
/// On AVX2 without VNNI (Zen 3, the development machine of issue 9) a row-block product costs ~3.3 cycles: the two
/// integer multiplies (vpmaddubsw, vpmaddwd) share the vector multiply pipes with the FMA. Four rows at once ran
/// batched decode ~1.4× faster than four <see cref="BlockQ8_0.Dot"/> calls; eight rows with the scale products
/// precomputed per block measured 0.83–0.95 ns per row-block against 0.96–1.1 ns for two four-row passes
/// (single thread, a 2048-column weight row).
/// </remarks>
public static unsafe class Q8_0Rows
{
    public static bool IsSupported => Avx2.IsSupported;

    /// <summary>Bytes of the weight row requested ahead of the block in hand (~30 blocks): batched decode at B = 8
    /// ran 1.10× faster with it (llama-1b Q8_0, two ABBA pairs); the one-row dot takes the same distance.</summary>
    internal const int PrefetchAhead = 1024;

    /// <summary>Rows in the group that starts at activation row <paramref name="j"/> of a block ending at
    /// <paramref name="end"/>: 8, then 4, then 2, then 1. <see cref="ScalePanels"/> and the matmul walk the same
    /// groups.</summary>
    public static int GroupSize(int j, int end) => j + 8 <= end ? 8 : j + 4 <= end ? 4 : j + 2 <= end ? 2 : 1;

    /// <summary>
    /// The activation rows' block scales as floats, block-major within each group of <see cref="GroupSize"/> rows
    /// (panel[j·blocks + b·G + i] = d of row j + i, block b), groups restarting every <paramref name="groupBlock"/>
    /// rows: looked up once per matrix product rather than once per weight row (the f16 table is 256 KB; a lookup per
    /// block product cost a third of the kernel's time), and laid out so that a group's scales for one block are one
    /// vector load.
    /// </summary>
    public static void ScalePanels(byte* x, long xRowBytes, int rows, int blocks, int groupBlock, float* panel)
    {
        for (int xb = 0; xb < rows; xb += groupBlock)
        {
            int xe = Math.Min(rows, xb + groupBlock);
            for (int j = xb, g; j < xe; j += g)
            {
                g = GroupSize(j, xe);
                for (int i = 0; i < g; i++)
                    for (int b = 0; b < blocks; b++)
                        panel[(long)j * blocks + b * g + i] = Fp16.Load(x + (j + i) * xRowBytes + b * BlockQ8_0.Bytes);
            }
        }
    }

    /// <summary>y[i·yStride] = w · x_i for i = 0..7 (x rows <paramref name="xRowBytes"/> apart, their scales the
    /// group's panel from <see cref="ScalePanels"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot1x8(byte* w, byte* x, long xRowBytes, float* panel, int n, float* y, long yStride)
    {
        const int B = BlockQ8_0.Bytes;
        int blocks = n / BlockQ8_0.Size;
        float* d = stackalloc float[8];
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default,
                         a4 = default, a5 = default, a6 = default, a7 = default;
        for (int b = 0; b < blocks; b++, w += B, x += B, panel += 8)
        {
            Sse.Prefetch0(w + PrefetchAhead);
            var q = Vector256.Load((sbyte*)(w + 2));
            var a = Avx2.Abs(q);
            (Vector256.Create(Fp16.Load(w)) * Vector256.Load(panel)).Store(d);   // d_w·d_x for the eight rows
            a0 = Step(a0, a, q, x, d);
            a1 = Step(a1, a, q, x + xRowBytes, d + 1);
            a2 = Step(a2, a, q, x + 2 * xRowBytes, d + 2);
            a3 = Step(a3, a, q, x + 3 * xRowBytes, d + 3);
            a4 = Step(a4, a, q, x + 4 * xRowBytes, d + 4);
            a5 = Step(a5, a, q, x + 5 * xRowBytes, d + 5);
            a6 = Step(a6, a, q, x + 6 * xRowBytes, d + 6);
            a7 = Step(a7, a, q, x + 7 * xRowBytes, d + 7);
        }
        y[0] = Vector256.Sum(a0);
        y[yStride] = Vector256.Sum(a1);
        y[2 * yStride] = Vector256.Sum(a2);
        y[3 * yStride] = Vector256.Sum(a3);
        y[4 * yStride] = Vector256.Sum(a4);
        y[5 * yStride] = Vector256.Sum(a5);
        y[6 * yStride] = Vector256.Sum(a6);
        y[7 * yStride] = Vector256.Sum(a7);
    }

    /// <summary>As <see cref="Dot1x8"/> for four rows (a batch of four to seven sequences).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot1x4(byte* w, byte* x, long xRowBytes, float* panel, int n, float* y, long yStride)
    {
        const int B = BlockQ8_0.Bytes;
        int blocks = n / BlockQ8_0.Size;
        float* d = stackalloc float[4];
        byte* x0 = x, x1 = x + xRowBytes, x2 = x + 2 * xRowBytes, x3 = x + 3 * xRowBytes;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int b = 0; b < blocks; b++, w += B, x0 += B, x1 += B, x2 += B, x3 += B, panel += 4)
        {
            Sse.Prefetch0(w + PrefetchAhead);
            var q = Vector256.Load((sbyte*)(w + 2));
            var a = Avx2.Abs(q);
            (Vector128.Create(Fp16.Load(w)) * Vector128.Load(panel)).Store(d);
            a0 = Step(a0, a, q, x0, d); a1 = Step(a1, a, q, x1, d + 1);
            a2 = Step(a2, a, q, x2, d + 2); a3 = Step(a3, a, q, x3, d + 3);
        }
        y[0] = Vector256.Sum(a0);
        y[yStride] = Vector256.Sum(a1);
        y[2 * yStride] = Vector256.Sum(a2);
        y[3 * yStride] = Vector256.Sum(a3);
    }

    /// <summary>As <see cref="Dot1x8"/> for two rows (a batch of two or three sequences, and the rest of four).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot1x2(byte* w, byte* x, long xRowBytes, float* panel, int n, float* y, long yStride)
    {
        const int B = BlockQ8_0.Bytes;
        int blocks = n / BlockQ8_0.Size;
        float* d = stackalloc float[2];
        byte* x0 = x, x1 = x + xRowBytes;
        Vector256<float> a0 = default, a1 = default;
        for (int b = 0; b < blocks; b++, w += B, x0 += B, x1 += B, panel += 2)
        {
            Sse.Prefetch0(w + PrefetchAhead);
            var q = Vector256.Load((sbyte*)(w + 2));
            var a = Avx2.Abs(q);
            float dw = Fp16.Load(w);
            d[0] = dw * panel[0];
            d[1] = dw * panel[1];
            a0 = Step(a0, a, q, x0, d);
            a1 = Step(a1, a, q, x1, d + 1);
        }
        y[0] = Vector256.Sum(a0);
        y[yStride] = Vector256.Sum(a1);
    }

    /// <summary>acc + d_w·d_x·(q_w·q_x) over one block, as <see cref="BlockQ8_0.BlockDot"/> forms it; the scale
    /// product comes broadcast from memory (a load, not a shuffle on the pipes the multiplies need).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Step(Vector256<float> acc, Vector256<byte> absW, Vector256<sbyte> qw, byte* xBlock, float* scale)
    {
        var sx = Avx2.Sign(Vector256.Load((sbyte*)(xBlock + 2)), qw);
        var dot = AvxVnni.IsSupported
            ? AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, absW, sx)
            : Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(absW, sx), Vector256<short>.One);
        return Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(dot), Avx.BroadcastScalarToVector256(scale), acc);
    }
}
