using Sieve.Cache.A2ats;

namespace Sieve.Tests.Cache.A2ats;

public class KMeansTests
{
    static void AssertMonotone(KMeansResult r)
    {
        for (int i = 1; i < r.Objectives.Count; i++)
            Assert.True(r.Objectives[i] <= r.Objectives[i - 1], $"objective rose at iteration {i}: {r.Objectives[i - 1]} → {r.Objectives[i]}");
    }

    /// <summary>Lloyd's algorithm written plainly in double from given centroids, to a fixed point.</summary>
    static (double[] Centroids, int[] Assign) ReferenceLloyd(float[] x, int n, int d, double[] c, int k)
    {
        var assign = new int[n];
        for (int it = 0; it < 1000; it++)
        {
            bool changed = false;
            for (int i = 0; i < n; i++)
            {
                int best = 0;
                double bd = double.MaxValue;
                for (int j = 0; j < k; j++)
                {
                    double s = 0;
                    for (int t = 0; t < d; t++) { double e = x[i * d + t] - c[j * d + t]; s += e * e; }
                    if (s < bd) { bd = s; best = j; }
                }
                if (it == 0 || assign[i] != best) changed = true;
                assign[i] = best;
            }
            if (!changed) break;
            var sum = new double[k * d];
            var count = new int[k];
            for (int i = 0; i < n; i++) { count[assign[i]]++; for (int t = 0; t < d; t++) sum[assign[i] * d + t] += x[i * d + t]; }
            for (int j = 0; j < k; j++)
                if (count[j] > 0) for (int t = 0; t < d; t++) c[j * d + t] = sum[j * d + t] / count[j];
        }
        return (c, assign);
    }

    [Theory]
    [InlineData(KMeansInit.PlusPlus)]
    [InlineData(KMeansInit.Forgy)]
    public void MatchesPlainDoubleLloydFromTheSameStart(KMeansInit init)
    {
        int n = 400, d = 5, k = 8;
        var x = A2atsTestData.Clustered(n, d, centres: 6, seed: 11);
        var start = KMeans.Fit(x, n, d, new KMeansOptions { Clusters = k, Init = init, MaxIterations = 0, Seed = 4 });
        Assert.Equal(0, start.Iterations);
        var fit = KMeans.Fit(x, n, d, new KMeansOptions { Clusters = k, Init = init, Tolerance = 0, Seed = 4 });
        Assert.True(fit.Converged);
        AssertMonotone(fit);
        var (refC, refAssign) = ReferenceLloyd(x, n, d, start.Centroids.Select(v => (double)v).ToArray(), k);
        Assert.Equal(refAssign, fit.Assignments);
        for (int i = 0; i < refC.Length; i++) Assert.Equal(refC[i], fit.Centroids[i], 4);
        // The recorded objective is the exact double sum to the assigned centroids.
        double obj = 0;
        for (int i = 0; i < n; i++) obj += A2atsTestData.SquaredDistance(x.AsSpan(i * d, d), fit.Centroids.AsSpan(fit.Assignments[i] * d, d));
        Assert.Equal(obj, fit.Objective, obj * 1e-6);
    }

    [Fact]
    public void ObjectiveDecreasesMonotonicallyOnHardData()
    {
        // Unclustered Gaussian data, many centroids: dozens of iterations of small moves.
        int n = 3000, d = 16, k = 100;
        var x = A2atsTestData.Gaussian(n, d, seed: 5, scale: t => 1 + t);
        var fit = KMeans.Fit(x, n, d, new KMeansOptions { Clusters = k, Tolerance = 1e-6, MaxIterations = 200, Seed = 2 });
        Assert.True(fit.Iterations > 10, fit.ToString());
        AssertMonotone(fit);
        Assert.True(fit.Objective < 0.8 * fit.Objectives[0], fit.ToString());
        // Assignments are the nearest centroids under the returned centroids (up to float ties).
        for (int i = 0; i < n; i++)
        {
            double mine = A2atsTestData.SquaredDistance(x.AsSpan(i * d, d), fit.Centroids.AsSpan(fit.Assignments[i] * d, d));
            double min = Enumerable.Range(0, k).Min(j => A2atsTestData.SquaredDistance(x.AsSpan(i * d, d), fit.Centroids.AsSpan(j * d, d)));
            Assert.True(mine <= min * (1 + 1e-5) + 1e-6, $"point {i}: {mine} vs nearest {min}");
        }
    }

    [Fact]
    public void SameSeedSameCentroidsOnAnyThreadCount()
    {
        int n = 1000, d = 8, k = 32;
        var x = A2atsTestData.Gaussian(n, d, seed: 8);
        var a = KMeans.Fit(x, n, d, new KMeansOptions { Clusters = k, Seed = 3, Threads = 1 });
        var b = KMeans.Fit(x, n, d, new KMeansOptions { Clusters = k, Seed = 3 });
        Assert.Equal(a.Centroids, b.Centroids);
        Assert.Equal(a.Objectives, b.Objectives);
        var c = KMeans.Fit(x, n, d, new KMeansOptions { Clusters = k, Seed = 4 });
        Assert.NotEqual(a.Centroids, c.Centroids);
    }

    [Fact]
    public void MoreClustersThanPointsMakesEveryPointACentroid()
    {
        int n = 6, d = 3, k = 10;
        var x = A2atsTestData.Gaussian(n, d, seed: 1);
        var fit = KMeans.Fit(x, n, d, new KMeansOptions { Clusters = k });
        Assert.Equal(k * d, fit.Centroids.Length);
        Assert.Equal(Enumerable.Range(0, n), fit.Assignments);
        Assert.Equal(0, fit.Objective);
        Assert.Equal(n, fit.Distinct);
        Assert.Equal(x, fit.Centroids.AsSpan(0, n * d).ToArray());
    }

    [Theory]
    [InlineData(KMeansInit.PlusPlus)]
    [InlineData(KMeansInit.Forgy)]
    public void DuplicatePointsLeaveFewerDistinctCentroids(KMeansInit init)
    {
        int n = 90, d = 2, k = 8;
        var x = new float[n * d];
        for (int i = 0; i < n; i++) { x[i * d] = i % 3; x[i * d + 1] = -(i % 3); }
        var fit = KMeans.Fit(x, n, d, new KMeansOptions { Clusters = k, Init = init });
        Assert.Equal(3, fit.Distinct);
        Assert.Equal(0, fit.Objective);
        Assert.Contains("only 3 distinct centroids", fit.ToString());
        AssertMonotone(fit);
    }

    [Fact]
    public void EmptyClustersAreReseededFromTheFarthestPoint()
    {
        // 90 copies of the origin and 10 scattered points: Forgy draws the origin several times, so clusters start
        // empty and must take the far points.
        int d = 2, n = 100, k = 5;
        var x = new float[n * d];
        var rng = new Random(1);
        for (int i = 90; i < n; i++) { x[i * d] = 10 + rng.Next(100); x[i * d + 1] = rng.Next(100); }
        var fit = KMeans.Fit(x, n, d, new KMeansOptions { Clusters = k, Init = KMeansInit.Forgy, Seed = 1, Tolerance = 0 });
        Assert.True(fit.Reseeded > 0, fit.ToString());
        Assert.Contains("re-seeded", fit.ToString());
        Assert.Equal(k, fit.Distinct);
        Assert.Equal(k, fit.Assignments.Distinct().Count());
        AssertMonotone(fit);
    }

    [Fact]
    public void TheIterationCapHolds()
    {
        int n = 2000, d = 8;
        var x = A2atsTestData.Gaussian(n, d, seed: 6);
        var fit = KMeans.Fit(x, n, d, new KMeansOptions { Clusters = 64, MaxIterations = 3, Tolerance = 0, Init = KMeansInit.Forgy });
        Assert.Equal(3, fit.Iterations);
        Assert.Equal(4, fit.Objectives.Count);
        Assert.False(fit.Converged);
    }

    [Fact]
    public void BadInputIsNamed()
    {
        var x = new float[] { 1, 2, float.NaN, 4 };
        Assert.Contains("point 1 holds NaN", Assert.Throws<ArgumentException>(() => KMeans.Fit(x, 2, 2, new KMeansOptions { Clusters = 1 })).Message);
        Assert.Contains("clusters", Assert.Throws<ArgumentException>(() => KMeans.Fit([1, 2], 1, 2, new KMeansOptions { Clusters = 0 })).Message);
        Assert.Contains("65536", Assert.Throws<ArgumentException>(() => KMeans.Fit([1, 2], 1, 2, new KMeansOptions { Clusters = 70000 })).Message);
        Assert.Contains("need", Assert.Throws<ArgumentException>(() => KMeans.Fit([1, 2], 2, 2, new KMeansOptions { Clusters = 1 })).Message);
        Assert.Contains("tolerance", Assert.Throws<ArgumentException>(() => KMeans.Fit([1, 2], 1, 2, new KMeansOptions { Tolerance = double.NaN })).Message);
    }
}
