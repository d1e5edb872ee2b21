using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Sieve.Cache.A2ats;

/// <summary>
/// Streams calibration queries of one (layer, KV head) into Σ q̃q̃ᵀ in double precision. <see cref="Add"/> may be
/// called from many threads at once: each call sums its rows into a per-thread partial first and takes the lock only
/// to add the d² result, so the lock is held for d² adds (16K at d = 128, ~10 µs) whatever the batch size.
/// </summary>
/// <remarks>
/// Double precision because 16K calibration tokens × 4 query heads = 64K rank-one terms per head: float would lose
/// ~5 of its 7 digits on the large diagonal before the Cholesky, whose pivots are differences of such sums.
/// </remarks>
public sealed class QueryMetricAccumulator(int headDim)
{
    readonly double[] _sum = new double[CheckedSize(headDim)];
    readonly Lock _lock = new();
    long _rows;

    [ThreadStatic] static double[]? t_partial, t_rows;

    public int HeadDim { get; } = headDim;
    public long Rows { get { lock (_lock) return _rows; } }

    static int CheckedSize(int d) => d is > 0 and <= 1024 ? d * d : throw new ArgumentException($"head dimension {d} is out of range 1–1024");

    /// <summary>Adds <paramref name="count"/> query rows, row r at <c>rows[r * stride ..]</c>.</summary>
    public void Add(ReadOnlySpan<float> rows, int count, int stride = 0)
    {
        int d = HeadDim;
        if (stride == 0) stride = d;
        if (count < 0 || stride < d) throw new ArgumentException($"count {count} / stride {stride} invalid for head dimension {d}");
        if (count == 0) return;
        if ((long)(count - 1) * stride + d > rows.Length) throw new ArgumentException($"{count} rows of stride {stride} need {(long)(count - 1) * stride + d} values, got {rows.Length}");
        var partial = t_partial is { } p && p.Length == d * d ? p : t_partial = new double[d * d];
        var block = t_rows is { } b && b.Length == 4 * d ? b : t_rows = new double[4 * d];
        Array.Clear(partial);
        for (int r = 0; r < count; r += 4)
        {
            int take = Math.Min(4, count - r);
            Array.Clear(block);
            for (int t = 0; t < take; t++)
                for (int i = 0; i < d; i++) block[t * d + i] = rows[(r + t) * stride + i];
            RankFourUpdate(partial, block, d);
        }
        lock (_lock)
        {
            for (int i = 0; i < d; i++)
                for (int j = i; j < d; j++) _sum[i * d + j] += partial[i * d + j];
            _rows += count;
        }
    }

    /// <summary>Adds another accumulator's sums (per-thread accumulators joined at the end).</summary>
    public void Merge(QueryMetricAccumulator other)
    {
        if (other.HeadDim != HeadDim) throw new ArgumentException($"cannot merge head dimension {other.HeadDim} into {HeadDim}");
        if (ReferenceEquals(other, this)) throw new ArgumentException("an accumulator cannot merge into itself");
        double[] copy;
        long rows;
        lock (other._lock) { copy = (double[])other._sum.Clone(); rows = other._rows; }
        lock (_lock)
        {
            for (int i = 0; i < copy.Length; i++) _sum[i] += copy[i];
            _rows += rows;
        }
    }

    /// <summary>The full symmetric Σ q̃q̃ᵀ (d×d) so far.</summary>
    public double[] Sum()
    {
        int d = HeadDim;
        var full = new double[d * d];
        lock (_lock)
            for (int i = 0; i < d; i++)
                for (int j = i; j < d; j++) full[i * d + j] = full[j * d + i] = _sum[i * d + j];
        return full;
    }

    /// <summary>H normalised by its RMS entry, + ridge·I, factored.</summary>
    public QueryAwareMetric Finish(double ridge = QueryAwareMetric.DefaultRidge) => QueryAwareMetric.FromSum(Sum(), HeadDim, Rows, ridge);

    /// <summary>Upper triangle of h += Σ_{t&lt;4} r_t r_tᵀ: four rows per pass so each loaded stretch of h takes four FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void RankFourUpdate(double[] h, double[] rows, int d)
    {
        var r0 = rows.AsSpan(0, d); var r1 = rows.AsSpan(d, d); var r2 = rows.AsSpan(2 * d, d); var r3 = rows.AsSpan(3 * d, d);
        for (int i = 0; i < d; i++)
        {
            double a0 = r0[i], a1 = r1[i], a2 = r2[i], a3 = r3[i];
            var row = h.AsSpan(i * d, d);
            int j = i;
            if (Vector256.IsHardwareAccelerated)
            {
                var v0 = Vector256.Create(a0); var v1 = Vector256.Create(a1); var v2 = Vector256.Create(a2); var v3 = Vector256.Create(a3);
                for (; j + 4 <= d; j += 4)
                {
                    var acc = Vector256.Create<double>(row[j..]);
                    acc += v0 * Vector256.Create<double>(r0[j..]) + v1 * Vector256.Create<double>(r1[j..])
                         + v2 * Vector256.Create<double>(r2[j..]) + v3 * Vector256.Create<double>(r3[j..]);
                    acc.CopyTo(row[j..]);
                }
            }
            for (; j < d; j++) row[j] += a0 * r0[j] + a1 * r1[j] + a2 * r2[j] + a3 * r3[j];
        }
    }
}
