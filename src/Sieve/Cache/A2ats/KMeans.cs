using System.Diagnostics;
using System.Runtime.Intrinsics;
using Sieve.Kernels;

namespace Sieve.Cache.A2ats;

/// <summary>
/// Lloyd's k-means with k-means++ (or Forgy) initialisation, for A²ATS codebooks: K up to 65536 centroids of
/// d-dimensional points, the assignment step as blocked dot products (<see cref="VqKernels.Nearest"/>), parallel
/// over chunks of points, deterministic for a seed whatever the thread count.
/// </summary>
/// <remarks>
/// <para>Assignment uses ‖x − c‖² = ‖x‖² − 2x·c + ‖c‖² in float with GEMM-like tiles; the recorded objective is then
/// recomputed in double against the assigned centroid (n·d work, ~1/K of the assignment), so the reported values
/// are exact sums and never increase: each Lloyd update replaces a centroid by the mean of its points, which can only
/// lower their total, and each assignment moves a point only to a centroid the float scores call nearer.</para>
/// <para>Empty clusters take the point farthest from its centroid (among clusters that keep at least one point),
/// which lowers the objective by that point's whole distance; <see cref="KMeansResult.Reseeded"/> counts them.</para>
/// </remarks>
public static unsafe class KMeans
{
    /// <summary>Points per parallel work item: 64 rows of d ≤ 256 floats stay in L1 while a centroid block sweeps them.</summary>
    const int Chunk = 64;

    /// <param name="points">n × d, row-major (row stride d).</param>
    public static KMeansResult Fit(float[] points, int n, int d, KMeansOptions options,
        IProgress<KMeansProgress>? progress = null, CancellationToken cancel = default)
    {
        options.Validate();
        if (n < 1 || d < 1) throw new ArgumentException($"k-means needs at least one point of at least one dimension (got {n} × {d})");
        if (points.Length < (long)n * d) throw new ArgumentException($"k-means: {n} points of {d} need {(long)n * d} values, got {points.Length}");
        for (long i = 0; i < (long)n * d; i++)
            if (!float.IsFinite(points[i])) throw new ArgumentException($"k-means: point {i / d} holds {points[i]} in dimension {i % d}");

        int k = options.Clusters;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.Threads > 0 ? options.Threads : -1, CancellationToken = cancel };
        var clock = Stopwatch.StartNew();
        if (k >= n) return EveryPointItsOwn(points, n, d, k, clock.Elapsed.TotalMilliseconds);

        var centroids = new double[(long)k * d];
        int distinct = options.Init == KMeansInit.PlusPlus
            ? InitPlusPlus(points, n, d, k, options.Seed, centroids, parallel, progress)
            : InitForgy(points, n, d, k, options.Seed, centroids);
        double initMs = clock.Elapsed.TotalMilliseconds;
        clock.Restart();

        var single = new float[(long)k * d];
        var packed = GC.AllocateArray<float>(VqKernels.PackedLength(k, d), pinned: true);
        var norms = GC.AllocateArray<float>(VqKernels.PaddedCount(k), pinned: true);
        var assign = new int[n];
        var previous = new int[n];
        var score = new float[n];
        var dist = new double[n];
        var counts = new int[k];
        var sums = new double[(long)k * d];
        var objectives = new List<double>();
        int iterations = 0, reseeded = 0;
        bool converged = false;
        int chunks = (n + Chunk - 1) / Chunk;

        for (int it = 0; ; it++)
        {
            cancel.ThrowIfCancellationRequested();
            for (long i = 0; i < single.Length; i++) single[i] = (float)centroids[i];
            VqKernels.Pack(single, k, d, packed);
            VqKernels.Norms(packed, k, d, norms);
            Parallel.For(0, chunks, parallel, c =>
            {
                int start = c * Chunk, count = Math.Min(Chunk, n - start);
                fixed (float* px = points, pp = packed, pn = norms, ps = score)
                fixed (int* pa = assign)
                    VqKernels.Nearest(px + (long)start * d, count, d, d, pp, pn, k, pa + start, ps + start);
                for (int i = start; i < start + count; i++) dist[i] = ExactDistance(points, i, centroids, assign[i], d);
            });
            double objective = 0;
            for (int i = 0; i < n; i++) objective += dist[i];
            objectives.Add(objective);
            progress?.Report(new KMeansProgress("lloyd", it, options.MaxIterations, objective));
            if (it > 0)
            {
                double last = objectives[^2];
                bool moved = !assign.AsSpan().SequenceEqual(previous);
                if (!moved || last - objective <= options.Tolerance * last) { converged = true; break; }
            }
            if (it == options.MaxIterations) break;

            // Update: means in double, in point order (deterministic), then empty clusters re-seeded.
            Array.Clear(counts);
            Array.Clear(sums);
            for (int i = 0; i < n; i++)
            {
                int j = assign[i];
                counts[j]++;
                for (int t = 0; t < d; t++) sums[(long)j * d + t] += points[(long)i * d + t];
            }
            for (int j = 0; j < k; j++)
            {
                if (counts[j] > 0) continue;
                int far = -1;
                for (int i = 0; i < n; i++)
                    if (dist[i] > 0 && counts[assign[i]] > 1 && (far < 0 || dist[i] > dist[far])) far = i;
                if (far < 0) continue;   // every point sits on a centroid: fewer distinct points than K
                int from = assign[far];
                counts[from]--;
                for (int t = 0; t < d; t++) sums[(long)from * d + t] -= points[(long)far * d + t];
                counts[j] = 1;
                for (int t = 0; t < d; t++) sums[(long)j * d + t] = points[(long)far * d + t];
                assign[far] = j;
                dist[far] = 0;
                reseeded++;
            }
            for (int j = 0; j < k; j++)
                if (counts[j] > 0)
                    for (int t = 0; t < d; t++) centroids[(long)j * d + t] = sums[(long)j * d + t] / counts[j];
            Array.Copy(assign, previous, n);
            iterations++;
        }
        for (long i = 0; i < single.Length; i++) single[i] = (float)centroids[i];
        return new KMeansResult
        {
            Clusters = k, Dim = d, Centroids = single, Assignments = assign, Objectives = objectives, Iterations = iterations,
            Converged = converged, Reseeded = reseeded, Distinct = Math.Min(distinct, CountDistinct(single, k, d)),
            InitMs = initMs, LloydMs = clock.Elapsed.TotalMilliseconds,
        };
    }

    static double ExactDistance(float[] points, int i, double[] centroids, int j, int d)
    {
        double s = 0;
        for (int t = 0; t < d; t++)
        {
            double e = points[(long)i * d + t] - centroids[(long)j * d + t];
            s += e * e;
        }
        return s;
    }

    /// <summary>K ≥ n: each point is a centroid; the K − n others repeat point 0..n−1 cyclically and, being later
    /// duplicates, are never the nearest.</summary>
    static KMeansResult EveryPointItsOwn(float[] points, int n, int d, int k, double ms)
    {
        var c = new float[(long)k * d];
        for (int j = 0; j < k; j++) Array.Copy(points, (long)(j % n) * d, c, (long)j * d, d);
        var assign = new int[n];
        // The lowest index holding a point's value (duplicate points share one code).
        var first = new Dictionary<RowKey, int>();
        for (int i = 0; i < n; i++)
        {
            var key = new RowKey(points, i * d, d);
            if (!first.TryGetValue(key, out int j)) first[key] = j = i;
            assign[i] = j;
        }
        return new KMeansResult
        {
            Clusters = k, Dim = d, Centroids = c, Assignments = assign, Objectives = [0.0], Iterations = 0, Converged = true,
            Reseeded = 0, Distinct = first.Count, InitMs = ms, LloydMs = 0,
        };
    }

    static int InitForgy(float[] points, int n, int d, int k, int seed, double[] centroids)
    {
        // A partial Fisher–Yates shuffle: K distinct indices, uniformly.
        var rng = new Random(seed);
        var index = Enumerable.Range(0, n).ToArray();
        for (int j = 0; j < k; j++)
        {
            int r = j + rng.Next(n - j);
            (index[j], index[r]) = (index[r], index[j]);
            for (int t = 0; t < d; t++) centroids[(long)j * d + t] = points[(long)index[j] * d + t];
        }
        return k;
    }

    /// <summary>k-means++: returns how many distinct centroids it found (fewer than K when the points run out;
    /// the rest then repeat centroid 0).</summary>
    static int InitPlusPlus(float[] points, int n, int d, int k, int seed, double[] centroids, ParallelOptions parallel, IProgress<KMeansProgress>? progress)
    {
        var rng = new Random(seed);
        var d2 = new double[n];
        var chosen = new float[d];
        int chunks = (n + Chunk - 1) / Chunk;
        int pick = rng.Next(n);
        for (int j = 0; j < k; j++)
        {
            parallel.CancellationToken.ThrowIfCancellationRequested();
            Array.Copy(points, (long)pick * d, chosen, 0, d);
            for (int t = 0; t < d; t++) centroids[(long)j * d + t] = chosen[t];
            if (j == k - 1) break;
            Parallel.For(0, chunks, parallel, c =>
            {
                int start = c * Chunk, end = Math.Min(n, start + Chunk);
                for (int i = start; i < end; i++)
                {
                    double e = SquaredDistance(points.AsSpan(i * d, d), chosen);
                    d2[i] = j == 0 ? e : Math.Min(d2[i], e);
                }
            });
            double total = 0;
            for (int i = 0; i < n; i++) total += d2[i];
            if (total == 0)
            {
                // Every point coincides with a chosen centroid: the remaining ones repeat centroid 0.
                for (int r = j + 1; r < k; r++) Array.Copy(centroids, 0, centroids, (long)r * d, d);
                return j + 1;
            }
            double u = rng.NextDouble() * total, run = 0;
            pick = -1;
            for (int i = 0; i < n; i++)
            {
                if (d2[i] <= 0) continue;
                pick = i;
                run += d2[i];
                if (run > u) break;
            }
            if (j % 64 == 63) progress?.Report(new KMeansProgress("init", j + 1, k, total));
        }
        return k;
    }

    /// <summary>‖a − b‖² in float lanes (only to sample k-means++ seeds; the objective is summed in double).</summary>
    static double SquaredDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int t = 0;
        float s = 0;
        if (Vector256.IsHardwareAccelerated && a.Length >= 8)
        {
            var acc = Vector256<float>.Zero;
            for (; t + 8 <= a.Length; t += 8)
            {
                var e = Vector256.Create(a[t..]) - Vector256.Create(b[t..]);
                acc += e * e;
            }
            s = Vector256.Sum(acc);
        }
        for (; t < a.Length; t++) { float e = a[t] - b[t]; s += e * e; }
        return s;
    }

    static int CountDistinct(float[] c, int k, int d)
    {
        var seen = new HashSet<RowKey>();
        for (int j = 0; j < k; j++) seen.Add(new RowKey(c, j * d, d));
        return seen.Count;
    }

    /// <summary>A row of floats compared by value (bits; +0 and −0 differ, which only matters for counting).</summary>
    readonly struct RowKey(float[] data, int start, int length) : IEquatable<RowKey>
    {
        ReadOnlySpan<float> Row => data.AsSpan(start, length);
        public bool Equals(RowKey other) => Row.SequenceEqual(other.Row);
        public override bool Equals(object? obj) => obj is RowKey r && Equals(r);
        public override int GetHashCode()
        {
            var h = new HashCode();
            h.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Row));
            return h.ToHashCode();
        }
    }
}
