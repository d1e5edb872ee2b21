using System.Numerics;
using Sieve.Kernels;

namespace Sieve.Cache.A2ats;

/// <summary>
/// The query-aware vector quantizer of one (layer, KV head) (method notes §2.3): the Cholesky factor L of the
/// query metric, K centroids X in x = kᵀL space (to encode keys) and the same centroids C = X·L⁻¹ in key space (to
/// score). A pre-RoPE key's code is argmin_j ‖kᵀL − X_j‖²; a query q̃ = R_W·q scores a token with code j as
/// LUT[j] = q̃·C_j/√d. Immutable and thread-safe; shared by every sequence.
/// </summary>
/// <remarks>
/// Centroids are held only in the kernels' packed panel layout (<see cref="VqKernels"/>): X, its norms and C cost
/// 2·K·d·4 bytes, 4 MiB per head at K = 4096, d = 128 (row-major copies for files come from <see cref="XRows"/>
/// and <see cref="CRows"/>).
/// </remarks>
public sealed unsafe class VqCodebook
{
    public const int MaxCentroids = 65536;

    readonly float[] _l;          // d × d, lower-triangular, row-major
    readonly float[] _packedLt;   // Lᵀ in panels: x = kᵀL is then the kernels' dot products of k with Lᵀ's rows
    readonly float[] _packedX;    // panels
    readonly float[] _normsX;     // ‖X_j‖², padded with +∞
    readonly float[] _packedC;    // panels

    [ThreadStatic] static float[]? t_metricRows;
    [ThreadStatic] static int[]? t_codes;
    [ThreadStatic] static float[]? t_best;

    /// <summary>Keys transformed to x = kᵀL at a time by the batched encoder: the Nearest kernel's row chunk.</summary>
    const int EncodeBlock = 64;

    public int HeadDim { get; }
    /// <summary>K, the number of centroids (codes are 0..K−1).</summary>
    public int Centroids { get; }
    /// <summary>Length of a lookup table: K rounded up to a power of two (entries past K hold −∞), so scoring can mask
    /// a code into the table instead of bounds-checking it.</summary>
    public int LutLength { get; }
    /// <summary>1/√d, folded into the lookup tables.</summary>
    public float Scale { get; }
    /// <summary>The k-means run that produced this codebook; null when it was read from a file.</summary>
    public KMeansResult? FitReport { get; private set; }

    /// <summary>L, d × d row-major, lower-triangular.</summary>
    public ReadOnlySpan<float> L => _l;
    /// <summary>Bytes of centroid data held (X, its norms, C and L).</summary>
    public long Bytes => 4L * (_packedX.Length + _normsX.Length + _packedC.Length + _l.Length + _packedLt.Length);

    VqCodebook(int d, int k, float[] l, float[] packedX, float[] normsX, float[] packedC)
    {
        HeadDim = d; Centroids = k; _l = l; _packedX = packedX; _normsX = normsX; _packedC = packedC;
        _packedLt = PackTransposed(l, d);
        LutLength = (int)BitOperations.RoundUpToPowerOf2((uint)k);
        Scale = 1f / MathF.Sqrt(d);
    }

    /// <summary>
    /// A codebook from its factor L (d × d, lower-triangular with a positive diagonal), X (K × d) and optionally C
    /// (K × d); without C, C = X·L⁻¹ is computed in double.
    /// </summary>
    /// <exception cref="ArgumentException">A size, a non-finite value, or an L that is not lower-triangular with a
    /// positive diagonal, named.</exception>
    public static VqCodebook Create(ReadOnlySpan<float> l, int d, ReadOnlySpan<float> x, ReadOnlySpan<float> c = default)
    {
        if (d is < 1 or > 1024) throw new ArgumentException($"head dimension {d} is out of range 1–1024");
        if (l.Length != d * d) throw new ArgumentException($"L must be {d}×{d} ({d * d} values), got {l.Length}");
        if (x.Length == 0 || x.Length % d != 0) throw new ArgumentException($"X must be K×{d}, got {x.Length} values");
        int k = x.Length / d;
        if (k > MaxCentroids) throw new ArgumentException($"{k} centroids is more than the {MaxCentroids} a 16-bit code can name");
        if (c.Length != 0 && c.Length != x.Length) throw new ArgumentException($"C must be {k}×{d} like X, got {c.Length} values");
        for (int i = 0; i < d; i++)
        {
            if (!(l[i * d + i] > 0) || !float.IsFinite(l[i * d + i])) throw new ArgumentException($"L's diagonal entry {i} is {l[i * d + i]}, not a positive number");
            for (int j = 0; j < d; j++)
            {
                if (!float.IsFinite(l[i * d + j])) throw new ArgumentException($"L({i}, {j}) is {l[i * d + j]}");
                if (j > i && l[i * d + j] != 0) throw new ArgumentException($"L is not lower-triangular: L({i}, {j}) = {l[i * d + j]}");
            }
        }
        CheckFinite(x, "X", d);
        float[] cRows;
        if (c.Length != 0)
        {
            CheckFinite(c, "C", d);
            cRows = c.ToArray();
        }
        else cRows = KeySpace(x, k, d, Cholesky.InvertLower(Widen(l), d));

        var packedX = GC.AllocateArray<float>(VqKernels.PackedLength(k, d), pinned: true);
        var normsX = GC.AllocateArray<float>(VqKernels.PaddedCount(k), pinned: true);
        var packedC = GC.AllocateArray<float>(VqKernels.PackedLength(k, d), pinned: true);
        VqKernels.Pack(x, k, d, packedX);
        VqKernels.Norms(packedX, k, d, normsX);
        VqKernels.Pack(cRows, k, d, packedC);
        return new VqCodebook(d, k, l.ToArray(), packedX, normsX, packedC);
    }

    static void CheckFinite(ReadOnlySpan<float> v, string name, int d)
    {
        for (int i = 0; i < v.Length; i++)
            if (!float.IsFinite(v[i])) throw new ArgumentException($"{name}({i / d}, {i % d}) is {v[i]}");
    }

    static double[] Widen(ReadOnlySpan<float> v)
    {
        var w = new double[v.Length];
        for (int i = 0; i < v.Length; i++) w[i] = v[i];
        return w;
    }

    /// <summary>C = X·L⁻¹ (row j: C_j[t] = Σ_{i ≥ t} X_j[i]·L⁻¹[i, t]), in double, stored float.</summary>
    static float[] KeySpace(ReadOnlySpan<float> x, int k, int d, double[] lInverse)
    {
        var c = new float[(long)k * d];
        var acc = new double[d];
        for (int j = 0; j < k; j++)
        {
            Array.Clear(acc);
            for (int i = 0; i < d; i++)
            {
                double xi = x[j * d + i];
                if (xi == 0) continue;
                for (int t = 0; t <= i; t++) acc[t] += xi * lInverse[i * d + t];
            }
            for (int t = 0; t < d; t++) c[(long)j * d + t] = (float)acc[t];
        }
        return c;
    }

    /// <summary>
    /// Fits a codebook to <paramref name="n"/> pre-RoPE keys (key r at <c>keys[r * stride ..]</c>) under
    /// <paramref name="metric"/>: k-means on x = kᵀL, then C = X·L⁻¹. <see cref="QueryAwareMetric.Identity"/> gives
    /// plain k-means on the keys.
    /// </summary>
    public static VqCodebook Fit(ReadOnlySpan<float> keys, int n, int stride, QueryAwareMetric metric, KMeansOptions options,
        IProgress<KMeansProgress>? progress = null, CancellationToken cancel = default)
    {
        int d = metric.HeadDim;
        if (stride == 0) stride = d;
        if (n < 1 || stride < d || (long)(n - 1) * stride + d > keys.Length)
            throw new ArgumentException($"{n} keys of {d} values at stride {stride} need {(long)(n - 1) * stride + d} values, got {keys.Length}");
        var l = new float[d * d];
        for (int i = 0; i < l.Length; i++) l[i] = (float)metric.L[i];
        var x = new float[(long)n * d];
        var lt = PackTransposed(l, d);
        ToMetricSpace(lt, d, keys, n, stride, x);
        var result = KMeans.Fit(x, n, d, options, progress, cancel);
        var c = KeySpace(result.Centroids, result.Clusters, d, metric.LInverse);
        var codebook = Create(l, d, result.Centroids, c);
        codebook.FitReport = result;
        return codebook;
    }

    /// <summary>As <see cref="Fit(ReadOnlySpan{float}, int, int, QueryAwareMetric, KMeansOptions, IProgress{KMeansProgress}?, CancellationToken)"/>,
    /// with the metric finished from collected queries (RMS-normalised, ridged, factored).</summary>
    public static VqCodebook Fit(ReadOnlySpan<float> keys, int n, int stride, QueryMetricAccumulator queries, KMeansOptions options,
        IProgress<KMeansProgress>? progress = null, CancellationToken cancel = default) =>
        Fit(keys, n, stride, queries.Finish(), options, progress, cancel);

    static float[] PackTransposed(float[] l, int d)
    {
        var lt = new float[d * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) lt[j * d + i] = l[i * d + j];
        var packed = GC.AllocateArray<float>(VqKernels.PackedLength(d, d), pinned: true);
        VqKernels.Pack(lt, d, d, packed);
        return packed;
    }

    /// <summary>
    /// x = kᵀL for <paramref name="n"/> keys (x_j = Σ_i k_i·L_ij = k·(Lᵀ)_j): the LUT kernel with Lᵀ's rows as its
    /// "centroids", four keys per register tile. d² MACs a key (the zeros above L's diagonal are multiplied too),
    /// 1/K of the argmin that follows; a per-row scalar loop here cost 40% of encoding at d = 64.
    /// </summary>
    static void ToMetricSpace(float[] packedLt, int d, ReadOnlySpan<float> keys, int n, int stride, Span<float> x)
    {
        fixed (float* pk = keys, pl = packedLt, px = x)
            VqKernels.Dots(pk, n, stride, d, pl, d, 1f, px, d);
    }

    // ---------------- encoding ----------------

    /// <summary>The code of one pre-RoPE key: argmin_j ‖kᵀL − X_j‖² (lowest j on a tie).</summary>
    public ushort Encode(ReadOnlySpan<float> preRopeKey)
    {
        Span<ushort> code = stackalloc ushort[1];
        Encode(preRopeKey, 1, HeadDim, code);
        return code[0];
    }

    /// <summary>
    /// Codes of <paramref name="n"/> pre-RoPE keys, key r at <c>keys[r * stride ..]</c>: 64 keys at a time are
    /// moved to x = kᵀL, then matched against all centroids by <see cref="VqKernels.Nearest"/> (blocked dot products,
    /// 4 keys × 16 centroids per register tile). Single-threaded: callers run heads in parallel.
    /// </summary>
    public void Encode(ReadOnlySpan<float> keys, int n, int stride, Span<ushort> codes)
    {
        int d = HeadDim;
        if (stride == 0) stride = d;
        if (n < 0 || stride < d) throw new ArgumentException($"encode: count {n} / stride {stride} invalid for head dimension {d}");
        if (n == 0) return;
        if ((long)(n - 1) * stride + d > keys.Length) throw new ArgumentException($"encode: {n} keys at stride {stride} need {(long)(n - 1) * stride + d} values, got {keys.Length}");
        if (codes.Length < n) throw new ArgumentException($"encode: {n} keys need {n} codes, got room for {codes.Length}");
        var x = t_metricRows is { } buffer && buffer.Length >= EncodeBlock * d ? buffer : t_metricRows = new float[EncodeBlock * d];
        var code = t_codes ??= new int[EncodeBlock];
        var best = t_best ??= new float[EncodeBlock];
        for (int r0 = 0; r0 < n; r0 += EncodeBlock)
        {
            int rows = Math.Min(EncodeBlock, n - r0);
            ToMetricSpace(_packedLt, d, keys.Slice(r0 * stride), rows, stride, x);
            fixed (float* px = x, pp = _packedX, pn = _normsX, pb = best)
            fixed (int* pc = code)
                VqKernels.Nearest(px, rows, d, d, pp, pn, Centroids, pc, pb);
            for (int r = 0; r < rows; r++) codes[r0 + r] = (ushort)code[r];
        }
    }

    // ---------------- scoring ----------------

    /// <summary>lut[j] = q̃·C_j/√d for j &lt; K, −∞ up to <see cref="LutLength"/>; q̃ = R_W·q is the rotated query.</summary>
    public void BuildLut(ReadOnlySpan<float> rotatedQuery, Span<float> lut) => BuildLuts(rotatedQuery, 1, HeadDim, lut);

    /// <summary>
    /// Lookup tables of <paramref name="count"/> rotated queries (query g at <c>queries[g * stride ..]</c>) into
    /// <paramref name="luts"/> (table g at <c>luts[g * LutLength ..]</c>), reading C once per four queries: a GQA group's
    /// query heads should come in one call.
    /// </summary>
    public void BuildLuts(ReadOnlySpan<float> queries, int count, int stride, Span<float> luts)
    {
        int d = HeadDim;
        if (stride == 0) stride = d;
        if (count < 0 || stride < d) throw new ArgumentException($"lookup tables: count {count} / stride {stride} invalid for head dimension {d}");
        if (count == 0) return;
        if ((long)(count - 1) * stride + d > queries.Length) throw new ArgumentException($"lookup tables: {count} queries at stride {stride} need {(long)(count - 1) * stride + d} values, got {queries.Length}");
        if (luts.Length < (long)count * LutLength) throw new ArgumentException($"lookup tables: {count} tables of {LutLength} need {(long)count * LutLength} values, got {luts.Length}");
        fixed (float* pq = queries, pc = _packedC, pl = luts)
            VqKernels.Dots(pq, count, stride, d, pc, Centroids, Scale, pl, LutLength);
        for (int g = 0; g < count; g++) luts.Slice(g * LutLength + Centroids, LutLength - Centroids).Fill(float.NegativeInfinity);
    }

    /// <summary>scores[i] = lut[codes[i]] for every code; the table's length must be a power of two (a
    /// <see cref="LutLength"/> table), and a code past it reads −∞ padding or wraps, never outside the table.</summary>
    public static void Score(ReadOnlySpan<float> lut, ReadOnlySpan<ushort> codes, Span<float> scores)
    {
        if (lut.Length == 0 || !BitOperations.IsPow2(lut.Length)) throw new ArgumentException($"a lookup table's length must be a power of two (LutLength), got {lut.Length}");
        if (scores.Length < codes.Length) throw new ArgumentException($"{codes.Length} codes need {codes.Length} scores, got room for {scores.Length}");
        fixed (float* pl = lut, ps = scores)
        fixed (ushort* pc = codes)
            VqKernels.Gather(pl, lut.Length - 1, pc, codes.Length, ps);
    }

    // ---------------- centroids out ----------------

    /// <summary>Centroid j in x space (X_j).</summary>
    public void CentroidX(int j, Span<float> row) => VqKernels.Unpack(_packedX, HeadDim, CheckIndex(j), row);

    /// <summary>Centroid j in key space (C_j = X_j·L⁻¹): the decoded key of code j.</summary>
    public void CentroidKey(int j, Span<float> row) => VqKernels.Unpack(_packedC, HeadDim, CheckIndex(j), row);

    int CheckIndex(int j) => (uint)j < (uint)Centroids ? j : throw new ArgumentOutOfRangeException(nameof(j), $"code {j} is not below {Centroids}");

    /// <summary>X as K × d rows (a copy).</summary>
    public float[] XRows() => Rows(_packedX);

    /// <summary>C as K × d rows (a copy).</summary>
    public float[] CRows() => Rows(_packedC);

    float[] Rows(float[] packed)
    {
        var rows = new float[(long)Centroids * HeadDim];
        for (int j = 0; j < Centroids; j++) VqKernels.Unpack(packed, HeadDim, j, rows.AsSpan(j * HeadDim, HeadDim));
        return rows;
    }
}
