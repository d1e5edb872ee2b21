using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sieve.Kernels;

/// <summary>
/// Vector-quantization kernels for A²ATS (method notes §2.3): nearest centroid (code assignment and k-means),
/// centroid dot products (the per-query lookup table LUT[j] = q̃·C_j/√d) and the table gather that scores every
/// cached token from its code. Each has a scalar twin that gives bit-identical results.
/// </summary>
/// <remarks>
/// <para>Centroids are packed in panels of <see cref="PanelWidth"/> = 16: panel p holds centroids 16p..16p+15
/// transposed, <c>packed[(p·d + t)·16 + lane] = C[16p + lane][t]</c>, lanes past K zero. A 4-row × 16-centroid
/// tile then needs, per dimension t, two aligned loads and four broadcasts for eight FMAs, with no horizontal sums:
/// the register-blocked inner loop of a GEMM. One panel at d = 128 is 8 KB, so it stays in L1 across the four rows.</para>
/// <para>Every dot product is summed as acc ← fma(x_t, c_t, acc) for t = 0, 1, …, d−1 from acc = 0, in both the
/// SIMD kernel and its twin, and nearest-centroid scores are norm − (acc + acc); so both round identically and the
/// argmin ties break the same way (the lowest index wins). The SIMD paths need AVX2 and FMA; without them (or on
/// other CPUs) the scalar twins run.</para>
/// </remarks>
public static unsafe class VqKernels
{
    public const int PanelWidth = 16;

    /// <summary>Centroids per block whose panels are reused across a chunk of rows: 128 × d = 64 KB at d = 128,
    /// about the L2 share one core keeps while the rows' own 64 × d floats stay in L1.</summary>
    const int BlockPanels = 8;
    /// <summary>Rows whose running minima are kept per lane while a centroid block is swept.</summary>
    const int ChunkRows = 64;

    public static bool Accelerated => Avx2.IsSupported && Fma.IsSupported;

    public static int Panels(int k) => (k + PanelWidth - 1) / PanelWidth;
    public static int PackedLength(int k, int d) => Panels(k) * d * PanelWidth;
    /// <summary>Length of a norms array: K rounded up to whole panels.</summary>
    public static int PaddedCount(int k) => Panels(k) * PanelWidth;

    /// <summary>Packs K row-major centroids (row stride d) into panels; lanes past K are zero.</summary>
    public static void Pack(ReadOnlySpan<float> rows, int k, int d, Span<float> packed)
    {
        if (rows.Length < (long)k * d || packed.Length < PackedLength(k, d)) throw new ArgumentException($"pack: {k}×{d} centroids need {(long)k * d} values and {PackedLength(k, d)} packed");
        packed[..PackedLength(k, d)].Clear();
        for (int j = 0; j < k; j++)
        {
            int p = j / PanelWidth, lane = j % PanelWidth;
            for (int t = 0; t < d; t++) packed[(p * d + t) * PanelWidth + lane] = rows[j * d + t];
        }
    }

    /// <summary>Centroid <paramref name="j"/> out of the packed panels.</summary>
    public static void Unpack(ReadOnlySpan<float> packed, int d, int j, Span<float> row)
    {
        int p = j / PanelWidth, lane = j % PanelWidth;
        for (int t = 0; t < d; t++) row[t] = packed[(p * d + t) * PanelWidth + lane];
    }

    /// <summary>‖C_j‖² (summed in double, then rounded) for each centroid; padding lanes +∞ so no row ever picks them.</summary>
    public static void Norms(ReadOnlySpan<float> packed, int k, int d, Span<float> norms)
    {
        if (norms.Length < PaddedCount(k)) throw new ArgumentException($"norms need {PaddedCount(k)} values");
        for (int j = 0; j < PaddedCount(k); j++)
        {
            if (j >= k) { norms[j] = float.PositiveInfinity; continue; }
            int p = j / PanelWidth, lane = j % PanelWidth;
            double s = 0;
            for (int t = 0; t < d; t++) { double c = packed[(p * d + t) * PanelWidth + lane]; s += c * c; }
            norms[j] = (float)s;
        }
    }

    // ---------------- nearest centroid ----------------

    /// <summary>
    /// For each of <paramref name="n"/> rows (row r at x + r·stride, d floats) the centroid minimising
    /// ‖x − C_j‖² − ‖x‖² = norm_j − 2·x·C_j: its index into <paramref name="codes"/> and that score into
    /// <paramref name="best"/> (add ‖x‖² for the squared distance). Ties go to the lowest index; a row whose every
    /// score is NaN or +∞ gets code 0 and score +∞.
    /// </summary>
    /// <param name="norms">‖C_j‖², <see cref="PaddedCount"/>(k) values with +∞ in the padding (see <see cref="Norms"/>).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Nearest(float* x, int n, int stride, int d, float* packed, float* norms, int k, int* codes, float* best)
    {
        if (!Accelerated) { NearestScalar(x, n, stride, d, packed, norms, k, codes, best); return; }
        int panels = Panels(k);
        // Per row, 16 running minima and their indices (one per lane): 64 rows × 128 B = 8 KB.
        float* laneBest = stackalloc float[ChunkRows * PanelWidth];
        int* laneIndex = stackalloc int[ChunkRows * PanelWidth];
        var lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        for (int r0 = 0; r0 < n; r0 += ChunkRows)
        {
            int rows = Math.Min(ChunkRows, n - r0);
            for (int i = 0; i < rows * PanelWidth; i++) { laneBest[i] = float.PositiveInfinity; laneIndex[i] = 0; }
            for (int b0 = 0; b0 < panels; b0 += BlockPanels)
            {
                int b1 = Math.Min(panels, b0 + BlockPanels);
                for (int r = 0; r < rows; r += 4)
                {
                    // A short last tile repeats its last row; those results are never read.
                    float* x0 = x + (long)(r0 + r) * stride;
                    float* x1 = x + (long)(r0 + Math.Min(r + 1, rows - 1)) * stride;
                    float* x2 = x + (long)(r0 + Math.Min(r + 2, rows - 1)) * stride;
                    float* x3 = x + (long)(r0 + Math.Min(r + 3, rows - 1)) * stride;
                    for (int p = b0; p < b1; p++)
                    {
                        Tile(x0, x1, x2, x3, packed + (long)p * d * PanelWidth, d,
                            out var a00, out var a01, out var a10, out var a11, out var a20, out var a21, out var a30, out var a31);
                        var n0 = Avx.LoadVector256(norms + p * PanelWidth);
                        var n1 = Avx.LoadVector256(norms + p * PanelWidth + 8);
                        var i0 = lanes + Vector256.Create(p * PanelWidth);
                        var i1 = i0 + Vector256.Create(8);
                        float* bb = laneBest + r * PanelWidth;
                        int* bi = laneIndex + r * PanelWidth;
                        Keep(bb, bi, n0 - (a00 + a00), i0, n1 - (a01 + a01), i1);
                        if (r + 1 < rows) Keep(bb + PanelWidth, bi + PanelWidth, n0 - (a10 + a10), i0, n1 - (a11 + a11), i1);
                        if (r + 2 < rows) Keep(bb + 2 * PanelWidth, bi + 2 * PanelWidth, n0 - (a20 + a20), i0, n1 - (a21 + a21), i1);
                        if (r + 3 < rows) Keep(bb + 3 * PanelWidth, bi + 3 * PanelWidth, n0 - (a30 + a30), i0, n1 - (a31 + a31), i1);
                    }
                }
            }
            for (int r = 0; r < rows; r++)
            {
                // Lexicographic (score, index) minimum over the lanes = the first index of the minimum score.
                float bv = float.PositiveInfinity;
                int bj = 0;
                for (int l = 0; l < PanelWidth; l++)
                {
                    float v = laneBest[r * PanelWidth + l];
                    int j = laneIndex[r * PanelWidth + l];
                    if (v < bv || (v == bv && j < bj)) { bv = v; bj = j; }
                }
                codes[r0 + r] = bj;
                best[r0 + r] = bv;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Keep(float* bestValue, int* bestIndex, Vector256<float> s0, Vector256<int> i0, Vector256<float> s1, Vector256<int> i1)
    {
        // Strictly less: a lane keeps its earlier (lower) index on a tie, and NaN never replaces anything.
        var v0 = Avx.LoadVector256(bestValue);
        var m0 = Avx.CompareLessThan(s0, v0);
        Avx.Store(bestValue, Avx.BlendVariable(v0, s0, m0));
        Avx.Store(bestIndex, Avx.BlendVariable(Avx.LoadVector256(bestIndex).AsSingle(), i0.AsSingle(), m0).AsInt32());
        var v1 = Avx.LoadVector256(bestValue + 8);
        var m1 = Avx.CompareLessThan(s1, v1);
        Avx.Store(bestValue + 8, Avx.BlendVariable(v1, s1, m1));
        Avx.Store(bestIndex + 8, Avx.BlendVariable(Avx.LoadVector256(bestIndex + 8).AsSingle(), i1.AsSingle(), m1).AsInt32());
    }

    /// <summary>Dot products of four rows with one panel of 16 centroids: a_r0 lanes 0–7, a_r1 lanes 8–15.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Tile(float* x0, float* x1, float* x2, float* x3, float* c, int d,
        out Vector256<float> a00, out Vector256<float> a01, out Vector256<float> a10, out Vector256<float> a11,
        out Vector256<float> a20, out Vector256<float> a21, out Vector256<float> a30, out Vector256<float> a31)
    {
        a00 = a01 = a10 = a11 = a20 = a21 = a30 = a31 = Vector256<float>.Zero;
        for (int t = 0; t < d; t++, c += PanelWidth)
        {
            var c0 = Avx.LoadVector256(c);
            var c1 = Avx.LoadVector256(c + 8);
            var b = Vector256.Create(x0[t]);
            a00 = Fma.MultiplyAdd(b, c0, a00); a01 = Fma.MultiplyAdd(b, c1, a01);
            b = Vector256.Create(x1[t]);
            a10 = Fma.MultiplyAdd(b, c0, a10); a11 = Fma.MultiplyAdd(b, c1, a11);
            b = Vector256.Create(x2[t]);
            a20 = Fma.MultiplyAdd(b, c0, a20); a21 = Fma.MultiplyAdd(b, c1, a21);
            b = Vector256.Create(x3[t]);
            a30 = Fma.MultiplyAdd(b, c0, a30); a31 = Fma.MultiplyAdd(b, c1, a31);
        }
    }

    /// <summary>Scalar twin of <see cref="Nearest"/>: the same fused sums in the same order, so the same bits and codes.</summary>
    public static void NearestScalar(float* x, int n, int stride, int d, float* packed, float* norms, int k, int* codes, float* best)
    {
        for (int r = 0; r < n; r++)
        {
            float* row = x + (long)r * stride;
            float bv = float.PositiveInfinity;
            int bj = 0;
            for (int j = 0; j < k; j++)
            {
                float* c = packed + (long)(j / PanelWidth) * d * PanelWidth + j % PanelWidth;
                float acc = 0;
                for (int t = 0; t < d; t++) acc = MathF.FusedMultiplyAdd(row[t], c[t * PanelWidth], acc);
                float s = norms[j] - (acc + acc);
                if (s < bv) { bv = s; bj = j; }
            }
            codes[r] = bj;
            best[r] = bv;
        }
    }

    // ---------------- centroid dot products (lookup tables) ----------------

    /// <summary>
    /// out[q·outStride + j] = scale · (query_q · C_j) for <paramref name="count"/> queries (query q at
    /// queries + q·stride) and all K centroids: a query group's lookup tables from one pass over the codebook,
    /// four queries per pass, so at G = 4 the panels stream from memory once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dots(float* queries, int count, int stride, int d, float* packed, int k, float scale, float* output, int outStride)
    {
        if (!Accelerated) { DotsScalar(queries, count, stride, d, packed, k, scale, output, outStride); return; }
        int panels = Panels(k);
        var s = Vector256.Create(scale);
        float* tail = stackalloc float[4 * PanelWidth];
        for (int q = 0; q < count; q += 4)
        {
            int rows = Math.Min(4, count - q);
            float* x0 = queries + (long)q * stride;
            float* x1 = queries + (long)(q + Math.Min(1, rows - 1)) * stride;
            float* x2 = queries + (long)(q + Math.Min(2, rows - 1)) * stride;
            float* x3 = queries + (long)(q + Math.Min(3, rows - 1)) * stride;
            for (int p = 0; p < panels; p++)
            {
                Tile(x0, x1, x2, x3, packed + (long)p * d * PanelWidth, d,
                    out var a00, out var a01, out var a10, out var a11, out var a20, out var a21, out var a30, out var a31);
                bool whole = (p + 1) * PanelWidth <= k;
                // A short last panel is written to a scratch tile first, so nothing lands past column K.
                float* o = whole ? output + (long)q * outStride + p * PanelWidth : tail;
                long os = whole ? outStride : PanelWidth;
                Avx.Store(o, a00 * s); Avx.Store(o + 8, a01 * s);
                if (rows > 1) { Avx.Store(o + os, a10 * s); Avx.Store(o + os + 8, a11 * s); }
                if (rows > 2) { Avx.Store(o + 2 * os, a20 * s); Avx.Store(o + 2 * os + 8, a21 * s); }
                if (rows > 3) { Avx.Store(o + 3 * os, a30 * s); Avx.Store(o + 3 * os + 8, a31 * s); }
                if (!whole)
                    for (int r = 0; r < rows; r++)
                        for (int j = p * PanelWidth; j < k; j++)
                            output[(long)(q + r) * outStride + j] = tail[r * PanelWidth + j - p * PanelWidth];
            }
        }
    }

    /// <summary>Scalar twin of <see cref="Dots"/>, bit-identical.</summary>
    public static void DotsScalar(float* queries, int count, int stride, int d, float* packed, int k, float scale, float* output, int outStride)
    {
        for (int q = 0; q < count; q++)
        {
            float* row = queries + (long)q * stride;
            for (int j = 0; j < k; j++)
            {
                float* c = packed + (long)(j / PanelWidth) * d * PanelWidth + j % PanelWidth;
                float acc = 0;
                for (int t = 0; t < d; t++) acc = MathF.FusedMultiplyAdd(row[t], c[t * PanelWidth], acc);
                output[(long)q * outStride + j] = acc * scale;
            }
        }
    }

    // ---------------- scoring by table lookup ----------------

    /// <summary>
    /// scores[i] = lut[codes[i] &amp; mask] for <paramref name="n"/> tokens. The mask (table length − 1, a power of
    /// two) keeps a corrupt code inside the table instead of reading past it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Gather(float* lut, int mask, ushort* codes, int n, float* scores)
    {
        int i = 0;
        if (UseHardwareGather)
        {
            var m = Vector256.Create(mask);
            for (; i + 8 <= n; i += 8)
            {
                var idx = Avx2.ConvertToVector256Int32(codes + i) & m;
                Avx.Store(scores + i, Avx2.GatherVector256(lut, idx, 4));
            }
        }
        else
        {
            // Unrolled by four: independent loads the core can issue two per cycle.
            for (; i + 4 <= n; i += 4)
            {
                float s0 = lut[codes[i] & mask], s1 = lut[codes[i + 1] & mask], s2 = lut[codes[i + 2] & mask], s3 = lut[codes[i + 3] & mask];
                scores[i] = s0; scores[i + 1] = s1; scores[i + 2] = s2; scores[i + 3] = s3;
            }
        }
        for (; i < n; i++) scores[i] = lut[codes[i] & mask];
    }

    /// <summary>
    /// Whether <see cref="Gather"/> uses AVX2's vpgatherdd. Off: on this project's AMD EPYC (Zen, AVX2) scoring 32K
    /// tokens from a 4096-entry table took 24.5–28.5 µs with the gather instruction and 21.3–24.5 µs with the
    /// unrolled scalar loop (1.3–1.5 G tokens/s), since Zen's gather is microcoded. Kept, tested, for CPUs where it wins.
    /// </summary>
    internal static bool UseHardwareGather;

    /// <summary>Scalar twin of <see cref="Gather"/>.</summary>
    public static void GatherScalar(float* lut, int mask, ushort* codes, int n, float* scores)
    {
        for (int i = 0; i < n; i++) scores[i] = lut[codes[i] & mask];
    }

    // ---------------- self-test ----------------

    /// <summary>
    /// <see cref="KernelSelfTest"/>'s part for these kernels: each against its scalar twin, bit for bit, over ragged
    /// row counts, centroid counts and head dimensions, with duplicate centroids (ties) and non-finite values.
    /// </summary>
    internal static void SelfTest(Random rng, Action<bool, string> check)
    {
        float[] Values(int n, float scale) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();
        foreach (var (n, k, d) in new[] { (1, 1, 1), (5, 17, 8), (67, 40, 64), (9, 33, 128), (4, 16, 3), (3, 300, 16) })
        {
            var x = Values(n * d, 2f);
            var c = Values(k * d, 1f);
            if (k > 20) c.AsSpan(0, d).CopyTo(c.AsSpan(19 * d));   // a tie
            if (n > 2) { x[d] = float.NaN; x[2 * d] = float.PositiveInfinity; }
            var packed = new float[PackedLength(k, d)];
            var norms = new float[PaddedCount(k)];
            Pack(c, k, d, packed);
            Norms(packed, k, d, norms);
            var c1 = new int[n]; var c2 = new int[n]; var b1 = new float[n]; var b2 = new float[n];
            int count = Math.Min(n, 6);
            var o1 = new float[count * k]; var o2 = new float[count * k];
            fixed (float* px = x, pp = packed, pn = norms, pb1 = b1, pb2 = b2, po1 = o1, po2 = o2)
            fixed (int* pc1 = c1, pc2 = c2)
            {
                NearestScalar(px, n, d, d, pp, pn, k, pc1, pb1);
                Nearest(px, n, d, d, pp, pn, k, pc2, pb2);
                DotsScalar(px, count, d, d, pp, k, 0.125f, po1, k);
                Dots(px, count, d, d, pp, k, 0.125f, po2, k);
            }
            check(c1.AsSpan().SequenceEqual(c2) && b1.AsSpan().SequenceEqual(b2), $"VQ nearest centroid, {n} rows × {k} centroids × {d}");
            check(o1.AsSpan().SequenceEqual(o2), $"VQ lookup-table dots, {count} queries × {k} centroids × {d}");
        }
        var lut = Values(4096, 1f);
        foreach (int n in new[] { 0, 1, 7, 8, 9, 100 })
        {
            var codes = Enumerable.Range(0, n).Select(_ => (ushort)rng.Next(65536)).ToArray();
            var s1 = new float[n]; var s2 = new float[n];
            fixed (float* pl = lut, p1 = s1, p2 = s2)
            fixed (ushort* pc = codes)
            {
                GatherScalar(pl, 4095, pc, n, p1);
                Gather(pl, 4095, pc, n, p2);
            }
            check(s1.AsSpan().SequenceEqual(s2), $"VQ code gather, {n} tokens");
        }
    }
}
