using Sieve.Tensors;
using Sieve.Threading;

namespace Sieve.Kernels.Sparse;

/// <summary>
/// y = W·x for one row x that is mostly zeros, reading only the input-major rows Wt[k] of the non-zero x[k]
/// (CHESS's spvmm): the bytes streamed scale with the density of x. For down_proj, q_proj, o_proj (and every TEAL
/// projection) in decode. One instance per runner: it holds the active-input list.
/// </summary>
public sealed unsafe class SparseInputMatVec(WorkerPool pool)
{
    readonly WorkerPool _pool = pool;

    /// <summary>Bytes of weight the last <see cref="Apply"/> read.</summary>
    public long LastBytesRead { get; private set; }

    public void Apply(InputMajorWeight w, ReadOnlySpan<float> x, Span<float> y)
    {
        Scalar(w, x, y);
        LastBytesRead = BytesRead(w, x);
    }

    /// <summary>The scalar twin: inputs in order, each one's row added to y.</summary>
    public static void Scalar(InputMajorWeight w, ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.Length < w.Inputs || y.Length < w.Outputs) throw new ArgumentException($"{w.Name}: sparse product buffers too small");
        int n = w.Outputs;
        y[..n].Clear();
        switch (w.Type)
        {
            case GgmlType.F32:
                for (int k = 0; k < w.Inputs; k++)
                {
                    float xk = x[k];
                    if (xk == 0) continue;
                    float* row = (float*)w.Data + (long)k * n;
                    for (int o = 0; o < n; o++) y[o] += xk * row[o];
                }
                break;
            case GgmlType.F16:
                for (int k = 0; k < w.Inputs; k++)
                {
                    float xk = x[k];
                    if (xk == 0) continue;
                    Half* row = (Half*)w.Data + (long)k * n;
                    for (int o = 0; o < n; o++) y[o] += xk * (float)row[o];
                }
                break;
            default:
            {
                var acc = new float[n];
                for (int b = 0; b < w.Inputs / 32; b++)
                {
                    byte* blk = w.Data + b * w.BlockBytes;
                    float* d = (float*)blk;
                    sbyte* q = (sbyte*)(blk + (long)n * sizeof(float));
                    bool any = false;
                    Array.Clear(acc);
                    for (int i = 0; i < 32; i++)
                    {
                        float xk = x[b * 32 + i];
                        if (xk == 0) continue;
                        any = true;
                        sbyte* row = q + (long)i * n;
                        for (int o = 0; o < n; o++) acc[o] += xk * row[o];
                    }
                    if (any) for (int o = 0; o < n; o++) y[o] += d[o] * acc[o];
                }
                break;
            }
        }
    }

    /// <summary>Weight bytes a product over <paramref name="x"/> reads: the rows of its non-zero inputs (and, for Q8_0, the scales of each block that has one).</summary>
    public static long BytesRead(InputMajorWeight w, ReadOnlySpan<float> x)
    {
        long active = 0, blocks = 0;
        for (int k = 0; k < w.Inputs; k++)
            if (x[k] != 0)
            {
                active++;
                if (w.Type == GgmlType.Q8_0 && (k % 32 == 0 || !AnyBefore(x, k))) blocks++;
            }
        return w.Type switch
        {
            GgmlType.F32 => active * w.Outputs * 4L,
            GgmlType.F16 => active * w.Outputs * 2L,
            _ => active * w.Outputs + blocks * w.Outputs * 4L,
        };

        static bool AnyBefore(ReadOnlySpan<float> x, int k)
        {
            for (int i = k / 32 * 32; i < k; i++) if (x[i] != 0) return true;
            return false;
        }
    }
}
