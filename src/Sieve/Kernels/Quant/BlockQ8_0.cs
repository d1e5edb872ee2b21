using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using Sieve.Tensors;

namespace Sieve.Kernels.Quant;

/// <summary>
/// Q8_0: blocks of 32 values as one f16 scale d and 32 int8 quants q; x = d·q. 34 bytes per block.
/// Also the activation format that Q8_0 and Q4_0 weights are multiplied with.
/// </summary>
public static unsafe class BlockQ8_0
{
    public const int Size = 32;
    public const int Bytes = 34;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dequantize(byte* src, float* dst, int n)
    {
        for (int b = 0; b < n / Size; b++, src += Bytes)
        {
            float d = Fp16.Load(src);
            sbyte* q = (sbyte*)(src + 2);
            for (int i = 0; i < Size; i++) dst[b * Size + i] = q[i] * d;
        }
    }

    /// <summary>llama.cpp's reference rule: d = max|x|/127, q = round-half-away(x/d), d stored as f16.</summary>
    public static void QuantizeScalar(float* x, byte* dst, int n)
    {
        for (int b = 0; b < n / Size; b++, x += Size, dst += Bytes)
        {
            float amax = 0;
            for (int i = 0; i < Size; i++) amax = MathF.Max(amax, MathF.Abs(x[i]));
            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            *(Half*)dst = (Half)d;
            sbyte* q = (sbyte*)(dst + 2);
            for (int i = 0; i < Size; i++) q[i] = (sbyte)MathF.Round(x[i] * id, MidpointRounding.AwayFromZero);
        }
    }

    /// <summary>The same rule, vectorised; it runs on every activation row before a Q8_0/Q4_0 product.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Quantize(float* x, byte* dst, int n)
    {
        if (!Avx512F.IsSupported) { Quantize256(x, dst, n); return; }
        var signMask = Vector512.Create(0x7FFFFFFF).AsSingle();
        var half = Vector512.Create(0.5f);
        for (int b = 0; b < n / Size; b++, x += Size, dst += Bytes)
        {
            var v0 = Vector512.Load(x);
            var v1 = Vector512.Load(x + 16);
            float amax = Vector512.Max(v0 & signMask, v1 & signMask) is var m ? MaxAcross(m) : 0;
            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            *(Half*)dst = (Half)d;
            var vid = Vector512.Create(id);
            var r0 = Avx512F.ConvertToVector512Int32WithTruncation(RoundHalfAway(v0 * vid, half));
            var r1 = Avx512F.ConvertToVector512Int32WithTruncation(RoundHalfAway(v1 * vid, half));
            Avx512F.ConvertToVector128SByte(r0).Store((sbyte*)(dst + 2));
            Avx512F.ConvertToVector128SByte(r1).Store((sbyte*)(dst + 18));
        }
        if (n % Size != 0) throw new ArgumentException("row length must be a multiple of 32");
    }

    /// <summary>
    /// AVX2 form of the same rule (a batched decode step of llama-1b at B = 8 spent 3% of its time in the scalar
    /// quantizer, on one thread while the other waited for the product).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Quantize256(float* x, byte* dst, int n)
    {
        if (!Avx2.IsSupported) { QuantizeScalar(x, dst, n); return; }
        if (n % Size != 0) throw new ArgumentException("row length must be a multiple of 32");
        var signMask = Vector256.Create(0x7FFFFFFF).AsSingle();
        var half = Vector256.Create(0.5f);
        // vpackssdw/vpacksswb interleave 128-bit lanes; this puts the 32 bytes back in order.
        var order = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
        for (int b = 0; b < n / Size; b++, x += Size, dst += Bytes)
        {
            var v0 = Vector256.Load(x);
            var v1 = Vector256.Load(x + 8);
            var v2 = Vector256.Load(x + 16);
            var v3 = Vector256.Load(x + 24);
            var m = Vector256.Max(Vector256.Max(v0 & signMask, v1 & signMask), Vector256.Max(v2 & signMask, v3 & signMask));
            var m4 = Vector128.Max(m.GetLower(), m.GetUpper());
            m4 = Vector128.Max(m4, Vector128.Shuffle(m4, Vector128.Create(2, 3, 0, 1)));
            m4 = Vector128.Max(m4, Vector128.Shuffle(m4, Vector128.Create(1, 0, 3, 2)));
            float d = m4.ToScalar() / 127f;
            float id = d != 0 ? 1f / d : 0f;
            *(Half*)dst = (Half)d;
            var vid = Vector256.Create(id);
            var r0 = Avx.ConvertToVector256Int32WithTruncation(RoundHalfAway(v0 * vid, half));
            var r1 = Avx.ConvertToVector256Int32WithTruncation(RoundHalfAway(v1 * vid, half));
            var r2 = Avx.ConvertToVector256Int32WithTruncation(RoundHalfAway(v2 * vid, half));
            var r3 = Avx.ConvertToVector256Int32WithTruncation(RoundHalfAway(v3 * vid, half));
            var bytes = Avx2.PackSignedSaturate(Avx2.PackSignedSaturate(r0, r1), Avx2.PackSignedSaturate(r2, r3));
            Avx2.PermuteVar8x32(bytes.AsInt32(), order).AsSByte().Store((sbyte*)(dst + 2));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> RoundHalfAway(Vector256<float> v, Vector256<float> half)
    {
        var t = Vector256.Truncate(v);
        var up = Vector256.GreaterThanOrEqual(Vector256.Abs(v - t), half);
        return t + (Vector256.CopySign(Vector256<float>.One, v) & up);
    }

    /// <summary>
    /// C's roundf. trunc(|v| + 0.5) is not: 0.49999997 + 0.5 rounds up to 1. The fractional part |v − trunc v| is
    /// exact, so comparing it with 0.5 is.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> RoundHalfAway(Vector512<float> v, Vector512<float> half)
    {
        var t = Vector512.Truncate(v);
        var up = Vector512.GreaterThanOrEqual(Vector512.Abs(v - t), half);
        return t + (Vector512.CopySign(Vector512<float>.One, v) & up);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float MaxAcross(Vector512<float> v)
    {
        var m = Vector256.Max(v.GetLower(), v.GetUpper());
        var m2 = Vector128.Max(m.GetLower(), m.GetUpper());
        m2 = Vector128.Max(m2, Vector128.Shuffle(m2, Vector128.Create(2, 3, 0, 1)));
        m2 = Vector128.Max(m2, Vector128.Shuffle(m2, Vector128.Create(1, 0, 3, 2)));
        return m2.ToScalar();
    }

    public static float DotScalar(byte* w, byte* x, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / Size; b++, w += Bytes, x += Bytes)
        {
            int s = 0;
            sbyte* qw = (sbyte*)(w + 2), qx = (sbyte*)(x + 2);
            for (int i = 0; i < Size; i++) s += qw[i] * qx[i];
            sum += s * (Fp16.Load(w) * Fp16.Load(x));
        }
        return sum;
    }

    /// <summary>
    /// Σ blocks d_w·d_x·(q_w·q_x). vpdpbusd multiplies unsigned by signed bytes, so |q_w| meets q_x carrying
    /// q_w's sign (q never holds -128 in a block this quantizer wrote).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(byte* w, byte* x, int n)
    {
        if (!Avx2.IsSupported) return DotScalar(w, x, n);
        int blocks = n / Size;
        // The weight row ~30 blocks ahead is requested by hand: decode reads each weight once, and the one-row dot ran
        // 1.06× faster with it (llama-1b Q8_0 tg128, three ABBA pairs, 16.9 → 18.0 t/s).
        // One accumulator, as ggml's AVX2 dot has: decode is bound by memory, not by the FMA chain (two
        // accumulators measured no faster on llama-1b), and batched decode's four-row kernel (Q8_0Rows) can then
        // reproduce this sum exactly while holding one accumulator per row in registers.
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < blocks; b++, w += Bytes, x += Bytes)
        {
            Sse.Prefetch0(w + Q8_0Rows.PrefetchAhead);
            acc = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(BlockDot(w + 2, x + 2)),
                Vector256.Create(Fp16.Load(w) * Fp16.Load(x)), acc);
        }
        return Vector256.Sum(acc);
    }

    /// <summary>Eight int32 partial sums of q_w·q_x over one block's 32 quants.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> BlockDot(byte* qw, byte* qx)
    {
        var vw = Vector256.Load((sbyte*)qw);
        var vx = Vector256.Load((sbyte*)qx);
        var aw = Avx2.Abs(vw);
        var sx = Avx2.Sign(vx, vw);
        if (AvxVnni.IsSupported) return AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, aw, sx);
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(aw, sx), Vector256<short>.One);
    }
}
