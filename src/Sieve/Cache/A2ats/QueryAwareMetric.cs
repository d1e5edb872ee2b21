namespace Sieve.Cache.A2ats;

/// <summary>
/// The metric of one (layer, KV head)'s query-aware quantizer: H = Σ q̃q̃ᵀ over the R_W-rotated calibration queries
/// of the group's query heads, normalised by its RMS entry and ridged, with its Cholesky factor L (H = L·Lᵀ) and
/// L⁻¹, all d×d row-major doubles. Distances ‖(k − c)ᵀL‖² then equal the expected squared logit error
/// (k − c)ᵀH(k − c) up to H's scale (method notes §2.3).
/// </summary>
public sealed class QueryAwareMetric
{
    /// <summary>The ridge added after RMS normalisation, as the reference code does: it keeps H positive definite
    /// when the queries span fewer than d directions (a few hundred rows, or RoPE pairs the queries never use).</summary>
    public const double DefaultRidge = 1e-6;

    public int HeadDim { get; }
    /// <summary>Normalised, ridged H (d×d); null when the metric was built from a stored factor.</summary>
    public double[]? H { get; }
    /// <summary>Lower-triangular L with H = L·Lᵀ (d×d).</summary>
    public double[] L { get; }
    public double[] LInverse { get; }
    /// <summary>Query rows H was accumulated from (0 for the identity and for stored factors).</summary>
    public long Rows { get; }

    QueryAwareMetric(int d, double[]? h, double[] l, double[] lInverse, long rows)
    {
        HeadDim = d; H = h; L = l; LInverse = lInverse; Rows = rows;
    }

    /// <summary>H = I: plain k-means on the keys themselves (the baseline the method improves on).</summary>
    public static QueryAwareMetric Identity(int d)
    {
        var eye = new double[d * d];
        for (int i = 0; i < d; i++) eye[i * d + i] = 1;
        return new QueryAwareMetric(d, eye, eye, (double[])eye.Clone(), 0);
    }

    /// <summary>From a stored lower-triangular factor (a codebook file); L⁻¹ is recomputed.</summary>
    public static QueryAwareMetric FromFactor(double[] l, int d) => new(d, null, l, Cholesky.InvertLower(l, d), 0);

    /// <summary>Normalises a summed H by its RMS entry, adds <paramref name="ridge"/>·I and factors it.</summary>
    /// <exception cref="ArgumentException">H is zero or not finite (no queries, or queries with NaN/∞).</exception>
    public static QueryAwareMetric FromSum(ReadOnlySpan<double> sum, int d, long rows, double ridge = DefaultRidge)
    {
        if (sum.Length != d * d) throw new ArgumentException($"a {d}×{d} query second-moment needs {d * d} values, got {sum.Length}");
        double sq = 0;
        foreach (var v in sum) sq += v * v;
        if (!double.IsFinite(sq)) throw new ArgumentException($"the query second-moment matrix of {rows} rows is not finite: a query held NaN or ∞");
        if (sq == 0) throw new ArgumentException(rows == 0 ? "no queries were collected, so there is no metric to fit" : $"the {rows} collected queries are all zero");
        double rms = Math.Sqrt(sq / sum.Length);
        var h = new double[d * d];
        for (int i = 0; i < h.Length; i++) h[i] = sum[i] / rms;
        for (int i = 0; i < d; i++) h[i * d + i] += ridge;
        var l = Cholesky.Factor(h, d);
        return new QueryAwareMetric(d, h, l, Cholesky.InvertLower(l, d), rows);
    }

    /// <summary>x = kᵀL for one key (float; L's lower triangle only).</summary>
    public void ToMetricSpace(ReadOnlySpan<float> key, Span<float> x)
    {
        int d = HeadDim;
        if (key.Length < d || x.Length < d) throw new ArgumentException($"key and output need {d} values");
        // x_j = Σ_{i ≥ j} k_i L_ij.
        for (int j = 0; j < d; j++)
        {
            double s = 0;
            for (int i = j; i < d; i++) s += key[i] * L[i * d + j];
            x[j] = (float)s;
        }
    }
}
