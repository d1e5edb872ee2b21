using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Sieve.Tensors;

namespace Sieve.Kernels.Quant;

/// <summary>
/// Prefill's inner kernel: 4 Q8_0 weight rows × 4 activation rows at once, so each loaded block feeds four
/// products. Activations come prepared as unsigned bytes (q+128) with F32 scales: vpdpbusd then takes them
/// directly, and the +128 is removed by starting each block's accumulator at −128·Σq_w (one vpdpbusd per weight
/// block, shared by the four activation rows) — no per-product sign fix-up. About 4 instructions per
/// 32-value block product instead of 11.
/// </summary>
/// <remarks>
/// Hot kernels are marked AggressiveOptimization: under tiered compilation a short run (a 32-token decode, a
/// test) otherwise spends its time in unoptimised tier-0 code — 3–10× slower for these loops.
/// </remarks>
public static unsafe class Q8_0Tile
{
    /// <summary>Activation row prepared for the tile: n bytes of q+128, then n/32 F32 scales.</summary>
    public static int PreparedBytes(int n) => n + n / 32 * sizeof(float);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Prepare(byte* q8_0Row, byte* prepared, int n)
    {
        int blocks = n / 32;
        float* scales = (float*)(prepared + n);
        var bias = Vector256.Create((byte)0x80);
        for (int b = 0; b < blocks; b++)
        {
            byte* block = q8_0Row + b * BlockQ8_0.Bytes;
            scales[b] = Fp16.Load(block);
            (Vector256.Load(block + 2) ^ bias).Store(prepared + b * 32);   // two's complement + 128 = flip the top bit
        }
    }

    public static bool IsSupported => AvxVnni.IsSupported;

    /// <summary>y[j·yStride + i] = Σ w_i·x_j for the 4×4 tile (i over weight rows, j over activation rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot4x4(byte* w, long wRowBytes, byte* x, long xRowBytes, int n, float* y, long yStride)
    {
        int blocks = n / 32;
        Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector256<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector256<float> a30 = default, a31 = default, a32 = default, a33 = default;
        byte* w0 = w, w1 = w + wRowBytes, w2 = w + 2 * wRowBytes, w3 = w + 3 * wRowBytes;
        byte* x0 = x, x1 = x + xRowBytes, x2 = x + 2 * xRowBytes, x3 = x + 3 * xRowBytes;
        float* s0 = (float*)(x0 + n), s1 = (float*)(x1 + n), s2 = (float*)(x2 + n), s3 = (float*)(x3 + n);
        var bias = Vector256.Create((byte)0x80);
        for (int b = 0; b < blocks; b++, w0 += 34, w1 += 34, w2 += 34, w3 += 34)
        {
            var q0 = Vector256.Load((sbyte*)(w0 + 2)); var q1 = Vector256.Load((sbyte*)(w1 + 2));
            var q2 = Vector256.Load((sbyte*)(w2 + 2)); var q3 = Vector256.Load((sbyte*)(w3 + 2));
            // −128·Σq per lane group: Σ (0x80 as unsigned)·q, negated.
            var c0 = Vector256<int>.Zero - AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, bias, q0);
            var c1 = Vector256<int>.Zero - AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, bias, q1);
            var c2 = Vector256<int>.Zero - AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, bias, q2);
            var c3 = Vector256<int>.Zero - AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, bias, q3);
            var d0 = Vector256.Create(Fp16.Load(w0)); var d1 = Vector256.Create(Fp16.Load(w1));
            var d2 = Vector256.Create(Fp16.Load(w2)); var d3 = Vector256.Create(Fp16.Load(w3));
            int off = b * 32;

            var u = Vector256.Load(x0 + off); var e = Vector256.Create(s0[b]);
            a00 = Acc(a00, c0, u, q0, d0 * e); a10 = Acc(a10, c1, u, q1, d1 * e); a20 = Acc(a20, c2, u, q2, d2 * e); a30 = Acc(a30, c3, u, q3, d3 * e);
            u = Vector256.Load(x1 + off); e = Vector256.Create(s1[b]);
            a01 = Acc(a01, c0, u, q0, d0 * e); a11 = Acc(a11, c1, u, q1, d1 * e); a21 = Acc(a21, c2, u, q2, d2 * e); a31 = Acc(a31, c3, u, q3, d3 * e);
            u = Vector256.Load(x2 + off); e = Vector256.Create(s2[b]);
            a02 = Acc(a02, c0, u, q0, d0 * e); a12 = Acc(a12, c1, u, q1, d1 * e); a22 = Acc(a22, c2, u, q2, d2 * e); a32 = Acc(a32, c3, u, q3, d3 * e);
            u = Vector256.Load(x3 + off); e = Vector256.Create(s3[b]);
            a03 = Acc(a03, c0, u, q0, d0 * e); a13 = Acc(a13, c1, u, q1, d1 * e); a23 = Acc(a23, c2, u, q2, d2 * e); a33 = Acc(a33, c3, u, q3, d3 * e);
        }
        y[0] = Vector256.Sum(a00); y[1] = Vector256.Sum(a10); y[2] = Vector256.Sum(a20); y[3] = Vector256.Sum(a30);
        y += yStride;
        y[0] = Vector256.Sum(a01); y[1] = Vector256.Sum(a11); y[2] = Vector256.Sum(a21); y[3] = Vector256.Sum(a31);
        y += yStride;
        y[0] = Vector256.Sum(a02); y[1] = Vector256.Sum(a12); y[2] = Vector256.Sum(a22); y[3] = Vector256.Sum(a32);
        y += yStride;
        y[0] = Vector256.Sum(a03); y[1] = Vector256.Sum(a13); y[2] = Vector256.Sum(a23); y[3] = Vector256.Sum(a33);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Acc(Vector256<float> acc, Vector256<int> start, Vector256<byte> u, Vector256<sbyte> q, Vector256<float> scale) =>
        Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(start, u, q)), scale, acc);

    /// <summary>One weight row against one prepared activation row (tile edges).</summary>
    public static float Dot1x1(byte* w, byte* x, int n)
    {
        int blocks = n / 32;
        float* s = (float*)(x + n);
        float sum = 0;
        for (int b = 0; b < blocks; b++, w += 34)
        {
            int dot = 0;
            sbyte* q = (sbyte*)(w + 2);
            for (int i = 0; i < 32; i++) dot += q[i] * (x[b * 32 + i] - 128);
            sum += dot * (Fp16.Load(w) * s[b]);
        }
        return sum;
    }
}
