using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Sieve.Kernels;

/// <summary>
/// The two inner loops of attention over cached rows: scores sₜ = scale·(q·kₜ) and the weighted sum
/// o = Σₜ pₜ·vₜ. Rows kₜ, vₜ sit <c>stride</c> floats apart (position-major cache). SIMD versions keep the head
/// in registers; scalar twins below define the results.
/// </summary>
public static unsafe class Attention
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scores(float* q, float* k, int stride, int count, int headDim, float scale, float* scores)
    {
        if (Vector512.IsHardwareAccelerated && headDim == 64)
        {
            // The query stays in four registers; two tokens per iteration keep two independent FMA chains in flight.
            var q0 = Vector512.Load(q); var q1 = Vector512.Load(q + 16); var q2 = Vector512.Load(q + 32); var q3 = Vector512.Load(q + 48);
            int t = 0;
            for (; t + 2 <= count; t += 2)
            {
                float* a = k + (long)t * stride, b = a + stride;
                var x = Vector512.FusedMultiplyAdd(q1, Vector512.Load(a + 16), q0 * Vector512.Load(a));
                var y = Vector512.FusedMultiplyAdd(q1, Vector512.Load(b + 16), q0 * Vector512.Load(b));
                x = Vector512.FusedMultiplyAdd(q3, Vector512.Load(a + 48), Vector512.FusedMultiplyAdd(q2, Vector512.Load(a + 32), x));
                y = Vector512.FusedMultiplyAdd(q3, Vector512.Load(b + 48), Vector512.FusedMultiplyAdd(q2, Vector512.Load(b + 32), y));
                scores[t] = Vector512.Sum(x) * scale;
                scores[t + 1] = Vector512.Sum(y) * scale;
            }
            for (; t < count; t++)
            {
                float* a = k + (long)t * stride;
                var x = Vector512.FusedMultiplyAdd(q1, Vector512.Load(a + 16), q0 * Vector512.Load(a));
                x = Vector512.FusedMultiplyAdd(q3, Vector512.Load(a + 48), Vector512.FusedMultiplyAdd(q2, Vector512.Load(a + 32), x));
                scores[t] = Vector512.Sum(x) * scale;
            }
            return;
        }
        if (Vector512.IsHardwareAccelerated && headDim % 16 == 0)
        {
            for (int t = 0; t < count; t++)
            {
                float* kt = k + (long)t * stride;
                var acc = Vector512<float>.Zero;
                for (int d = 0; d < headDim; d += 16)
                    acc = Vector512.FusedMultiplyAdd(Vector512.Load(q + d), Vector512.Load(kt + d), acc);
                scores[t] = Vector512.Sum(acc) * scale;
            }
            return;
        }
        if (Vector256.IsHardwareAccelerated && headDim == 64)
        {
            // One token's eight FMAs form one chain (4 cycles each on Zen 3: 32 cycles a token); four tokens at once
            // keep four chains in flight, each summed in the same order as below, so the scores are the same bits.
            var q0 = Vector256.Load(q); var q1 = Vector256.Load(q + 8); var q2 = Vector256.Load(q + 16); var q3 = Vector256.Load(q + 24);
            var q4 = Vector256.Load(q + 32); var q5 = Vector256.Load(q + 40); var q6 = Vector256.Load(q + 48); var q7 = Vector256.Load(q + 56);
            int t = 0;
            for (; t + 4 <= count; t += 4)
            {
                float* a = k + (long)t * stride, b = a + stride, c = b + stride, d = c + stride;
                var x = Vector256.FusedMultiplyAdd(q0, Vector256.Load(a), Vector256<float>.Zero);
                var y = Vector256.FusedMultiplyAdd(q0, Vector256.Load(b), Vector256<float>.Zero);
                var z = Vector256.FusedMultiplyAdd(q0, Vector256.Load(c), Vector256<float>.Zero);
                var w = Vector256.FusedMultiplyAdd(q0, Vector256.Load(d), Vector256<float>.Zero);
                x = Vector256.FusedMultiplyAdd(q1, Vector256.Load(a + 8), x); y = Vector256.FusedMultiplyAdd(q1, Vector256.Load(b + 8), y);
                z = Vector256.FusedMultiplyAdd(q1, Vector256.Load(c + 8), z); w = Vector256.FusedMultiplyAdd(q1, Vector256.Load(d + 8), w);
                x = Vector256.FusedMultiplyAdd(q2, Vector256.Load(a + 16), x); y = Vector256.FusedMultiplyAdd(q2, Vector256.Load(b + 16), y);
                z = Vector256.FusedMultiplyAdd(q2, Vector256.Load(c + 16), z); w = Vector256.FusedMultiplyAdd(q2, Vector256.Load(d + 16), w);
                x = Vector256.FusedMultiplyAdd(q3, Vector256.Load(a + 24), x); y = Vector256.FusedMultiplyAdd(q3, Vector256.Load(b + 24), y);
                z = Vector256.FusedMultiplyAdd(q3, Vector256.Load(c + 24), z); w = Vector256.FusedMultiplyAdd(q3, Vector256.Load(d + 24), w);
                x = Vector256.FusedMultiplyAdd(q4, Vector256.Load(a + 32), x); y = Vector256.FusedMultiplyAdd(q4, Vector256.Load(b + 32), y);
                z = Vector256.FusedMultiplyAdd(q4, Vector256.Load(c + 32), z); w = Vector256.FusedMultiplyAdd(q4, Vector256.Load(d + 32), w);
                x = Vector256.FusedMultiplyAdd(q5, Vector256.Load(a + 40), x); y = Vector256.FusedMultiplyAdd(q5, Vector256.Load(b + 40), y);
                z = Vector256.FusedMultiplyAdd(q5, Vector256.Load(c + 40), z); w = Vector256.FusedMultiplyAdd(q5, Vector256.Load(d + 40), w);
                x = Vector256.FusedMultiplyAdd(q6, Vector256.Load(a + 48), x); y = Vector256.FusedMultiplyAdd(q6, Vector256.Load(b + 48), y);
                z = Vector256.FusedMultiplyAdd(q6, Vector256.Load(c + 48), z); w = Vector256.FusedMultiplyAdd(q6, Vector256.Load(d + 48), w);
                x = Vector256.FusedMultiplyAdd(q7, Vector256.Load(a + 56), x); y = Vector256.FusedMultiplyAdd(q7, Vector256.Load(b + 56), y);
                z = Vector256.FusedMultiplyAdd(q7, Vector256.Load(c + 56), z); w = Vector256.FusedMultiplyAdd(q7, Vector256.Load(d + 56), w);
                scores[t] = Vector256.Sum(x) * scale;
                scores[t + 1] = Vector256.Sum(y) * scale;
                scores[t + 2] = Vector256.Sum(z) * scale;
                scores[t + 3] = Vector256.Sum(w) * scale;
            }
            for (; t < count; t++)
            {
                float* a = k + (long)t * stride;
                var x = Vector256.FusedMultiplyAdd(q0, Vector256.Load(a), Vector256<float>.Zero);
                x = Vector256.FusedMultiplyAdd(q1, Vector256.Load(a + 8), x);
                x = Vector256.FusedMultiplyAdd(q2, Vector256.Load(a + 16), x);
                x = Vector256.FusedMultiplyAdd(q3, Vector256.Load(a + 24), x);
                x = Vector256.FusedMultiplyAdd(q4, Vector256.Load(a + 32), x);
                x = Vector256.FusedMultiplyAdd(q5, Vector256.Load(a + 40), x);
                x = Vector256.FusedMultiplyAdd(q6, Vector256.Load(a + 48), x);
                x = Vector256.FusedMultiplyAdd(q7, Vector256.Load(a + 56), x);
                scores[t] = Vector256.Sum(x) * scale;
            }
            return;
        }
        if (Vector256.IsHardwareAccelerated && headDim % 8 == 0)
        {
            for (int t = 0; t < count; t++)
            {
                float* kt = k + (long)t * stride;
                var acc = Vector256<float>.Zero;
                for (int d = 0; d < headDim; d += 8)
                    acc = Vector256.FusedMultiplyAdd(Vector256.Load(q + d), Vector256.Load(kt + d), acc);
                scores[t] = Vector256.Sum(acc) * scale;
            }
            return;
        }
        ScoresScalar(q, k, stride, count, headDim, scale, scores);
    }

    public static void ScoresScalar(float* q, float* k, int stride, int count, int headDim, float scale, float* scores)
    {
        for (int t = 0; t < count; t++)
        {
            float* kt = k + (long)t * stride;
            float s = 0;
            for (int d = 0; d < headDim; d++) s += q[d] * kt[d];
            scores[t] = s * scale;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightedSum(float* p, float* v, int stride, int count, int headDim, float* output)
    {
        if (Vector512.IsHardwareAccelerated && headDim == 64)
        {
            // The four accumulators of a 64-wide head stay in registers across all positions.
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int t = 0; t < count; t++)
            {
                float* vt = v + (long)t * stride;
                var pt = Vector512.Create(p[t]);
                a0 = Vector512.FusedMultiplyAdd(pt, Vector512.Load(vt), a0);
                a1 = Vector512.FusedMultiplyAdd(pt, Vector512.Load(vt + 16), a1);
                a2 = Vector512.FusedMultiplyAdd(pt, Vector512.Load(vt + 32), a2);
                a3 = Vector512.FusedMultiplyAdd(pt, Vector512.Load(vt + 48), a3);
            }
            a0.Store(output); a1.Store(output + 16); a2.Store(output + 32); a3.Store(output + 48);
            return;
        }
        if (Vector512.IsHardwareAccelerated && headDim % 16 == 0)
        {
            for (int d = 0; d < headDim; d += 16)
            {
                var acc = Vector512<float>.Zero;
                for (int t = 0; t < count; t++)
                    acc = Vector512.FusedMultiplyAdd(Vector512.Create(p[t]), Vector512.Load(v + (long)t * stride + d), acc);
                acc.Store(output + d);
            }
            return;
        }
        if (Vector256.IsHardwareAccelerated && headDim == 64)
        {
            // The eight accumulators of a 64-wide head stay in registers across all positions: eight independent
            // FMAs a token instead of one chain per slice (each lane still sums over t in order: the same bits).
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (int t = 0; t < count; t++)
            {
                float* vt = v + (long)t * stride;
                var pt = Vector256.Create(p[t]);
                a0 = Vector256.FusedMultiplyAdd(pt, Vector256.Load(vt), a0);
                a1 = Vector256.FusedMultiplyAdd(pt, Vector256.Load(vt + 8), a1);
                a2 = Vector256.FusedMultiplyAdd(pt, Vector256.Load(vt + 16), a2);
                a3 = Vector256.FusedMultiplyAdd(pt, Vector256.Load(vt + 24), a3);
                a4 = Vector256.FusedMultiplyAdd(pt, Vector256.Load(vt + 32), a4);
                a5 = Vector256.FusedMultiplyAdd(pt, Vector256.Load(vt + 40), a5);
                a6 = Vector256.FusedMultiplyAdd(pt, Vector256.Load(vt + 48), a6);
                a7 = Vector256.FusedMultiplyAdd(pt, Vector256.Load(vt + 56), a7);
            }
            a0.Store(output); a1.Store(output + 8); a2.Store(output + 16); a3.Store(output + 24);
            a4.Store(output + 32); a5.Store(output + 40); a6.Store(output + 48); a7.Store(output + 56);
            return;
        }
        if (Vector256.IsHardwareAccelerated && headDim % 8 == 0)
        {
            for (int d = 0; d < headDim; d += 8)
            {
                var acc = Vector256<float>.Zero;
                for (int t = 0; t < count; t++)
                    acc = Vector256.FusedMultiplyAdd(Vector256.Create(p[t]), Vector256.Load(v + (long)t * stride + d), acc);
                acc.Store(output + d);
            }
            return;
        }
        WeightedSumScalar(p, v, stride, count, headDim, output);
    }

    public static void WeightedSumScalar(float* p, float* v, int stride, int count, int headDim, float* output)
    {
        for (int d = 0; d < headDim; d++) output[d] = 0;
        for (int t = 0; t < count; t++)
        {
            float* vt = v + (long)t * stride;
            for (int d = 0; d < headDim; d++) output[d] += p[t] * vt[d];
        }
    }
}
