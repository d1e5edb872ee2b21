using Sieve.Cache.A2ats;

namespace Sieve.Tests.Cache.A2ats;

public class VqCodebookTests
{
    const int D = 16, K = 64, Train = 2000;

    /// <summary>A metric from anisotropic queries and a codebook fitted to keys under it.</summary>
    internal static (QueryAwareMetric Metric, VqCodebook Codebook, float[] Keys) Fitted(int d = D, int k = K, int n = Train)
    {
        var queries = A2atsTestData.Gaussian(3000, d, seed: 21, scale: t => Math.Pow(3, -t / 4.0) * 5);
        var acc = new QueryMetricAccumulator(d);
        acc.Add(queries, 3000);
        var metric = acc.Finish();
        var keys = A2atsTestData.Gaussian(n, d, seed: 22, scale: t => 1 + (t % 3));
        var codebook = VqCodebook.Fit(keys, n, d, metric, new KMeansOptions { Clusters = k, Seed = 5 });
        return (metric, codebook, keys);
    }

    static double[] MetricSpace(QueryAwareMetric m, ReadOnlySpan<float> key)
    {
        int d = m.HeadDim;
        var x = new double[d];
        for (int j = 0; j < d; j++)
            for (int i = 0; i < d; i++) x[j] += key[i] * m.L[i * d + j];
        return x;
    }

    [Fact]
    public void EncodeIsTheArgminOfTheMetricDistanceInDouble()
    {
        var (metric, cb, _) = Fitted();
        var held = A2atsTestData.Gaussian(300, D, seed: 23, scale: t => 1 + (t % 3));
        var batch = new ushort[300];
        cb.Encode(held, 300, D, batch);
        var xj = new float[D];
        int exact = 0;
        for (int r = 0; r < 300; r++)
        {
            var key = held.AsSpan(r * D, D);
            ushort code = cb.Encode(key);
            Assert.Equal(code, batch[r]);
            var x = MetricSpace(metric, key);
            var dist = new double[K];
            for (int j = 0; j < K; j++)
            {
                cb.CentroidX(j, xj);
                for (int t = 0; t < D; t++) dist[j] += (x[t] - xj[t]) * (x[t] - xj[t]);
            }
            double min = dist.Min();
            Assert.True(dist[code] <= min * (1 + 1e-4) + 1e-9, $"key {r}: code {code} at {dist[code]}, argmin {Array.IndexOf(dist, min)} at {min}");
            if (dist[code] == min) exact++;
        }
        Assert.True(exact >= 295, $"{exact} of 300 codes are the exact double argmin");
    }

    [Fact]
    public void TrainingKeysEncodeToTheirKMeansClusters()
    {
        var (_, cb, keys) = Fitted();
        var codes = new ushort[Train];
        // Through a padded stride as well.
        int stride = D + 5;
        var padded = new float[Train * stride];
        for (int r = 0; r < Train; r++) keys.AsSpan(r * D, D).CopyTo(padded.AsSpan(r * stride));
        cb.Encode(padded, Train, stride, codes);
        Assert.Equal(cb.FitReport!.Assignments, codes.Select(c => (int)c));
    }

    [Fact]
    public void KeySpaceCentroidsAreXTimesLInverse()
    {
        var (metric, cb, _) = Fitted();
        var x = new float[D];
        var c = new float[D];
        for (int j = 0; j < K; j++)
        {
            cb.CentroidX(j, x);
            cb.CentroidKey(j, c);
            // C_j·L = X_j.
            for (int t = 0; t < D; t++)
            {
                double s = 0;
                for (int i = 0; i < D; i++) s += c[i] * metric.L[i * D + t];
                Assert.True(Math.Abs(s - x[t]) <= 1e-4 * (1 + Math.Abs(x[t])), $"centroid {j} dim {t}: {s} vs {x[t]}");
            }
        }
        // Rebuilt from L and X alone, C comes out the same.
        var again = VqCodebook.Create(cb.L, D, cb.XRows());
        var c1 = cb.CRows(); var c2 = again.CRows();
        for (int i = 0; i < c1.Length; i++) Assert.True(Math.Abs(c1[i] - c2[i]) <= 1e-4 * (1 + Math.Abs(c1[i])));
    }

    [Fact]
    public void LookupTablesAreTheDenseProductWithTheCentroids()
    {
        var (_, cb, _) = Fitted(k: 50);
        Assert.Equal(64, cb.LutLength);
        var q = A2atsTestData.Gaussian(4, D, seed: 30, scale: _ => 3);
        var luts = new float[4 * cb.LutLength];
        cb.BuildLuts(q, 4, D, luts);
        var one = new float[cb.LutLength];
        var c = new float[D];
        for (int g = 0; g < 4; g++)
        {
            cb.BuildLut(q.AsSpan(g * D, D), one);
            Assert.Equal(luts.AsSpan(g * cb.LutLength, cb.LutLength).ToArray(), one);
            for (int j = 0; j < 50; j++)
            {
                cb.CentroidKey(j, c);
                double want = A2atsTestData.Dot(q.AsSpan(g * D, D), c) / Math.Sqrt(D);
                Assert.True(Math.Abs(one[j] - want) <= 1e-5 * (1 + Math.Abs(want)), $"query {g} code {j}: {one[j]} vs {want}");
            }
            for (int j = 50; j < 64; j++) Assert.Equal(float.NegativeInfinity, one[j]);
        }
        var codes = new ushort[] { 0, 49, 7, 7, 63, 50, 3, 1, 2, 30 };
        var scores = new float[codes.Length];
        VqCodebook.Score(one, codes, scores);
        for (int i = 0; i < codes.Length; i++) Assert.Equal(one[codes[i]], scores[i]);
        Assert.Contains("power of two", Assert.Throws<ArgumentException>(() => VqCodebook.Score(new float[50], codes, scores)).Message);
    }

    [Fact]
    public void BadInputIsNamed()
    {
        float[] l = [1, 0, 0, 1];
        Assert.Contains("lower-triangular", Assert.Throws<ArgumentException>(() => VqCodebook.Create([1, 2, 0, 1], 2, [1, 2])).Message);
        Assert.Contains("diagonal", Assert.Throws<ArgumentException>(() => VqCodebook.Create([0, 0, 0, 1], 2, [1, 2])).Message);
        Assert.Contains("X(1, 0) is NaN", Assert.Throws<ArgumentException>(() => VqCodebook.Create(l, 2, [1, 2, float.NaN, 0])).Message);
        Assert.Contains("C must be", Assert.Throws<ArgumentException>(() => VqCodebook.Create(l, 2, [1, 2], [1, 2, 3, 4])).Message);
        Assert.Contains("65536", Assert.Throws<ArgumentException>(() => VqCodebook.Create(l, 2, new float[2 * 65537])).Message);
        var cb = VqCodebook.Create(l, 2, [1, 2, 3, 4]);
        Assert.Equal(2, cb.Centroids);
        Assert.Contains("need", Assert.Throws<ArgumentException>(() => cb.Encode(new float[3], 2, 2, new ushort[2])).Message);
        Assert.Contains("codes", Assert.Throws<ArgumentException>(() => cb.Encode(new float[4], 2, 2, new ushort[1])).Message);
        Assert.Contains("tables", Assert.Throws<ArgumentException>(() => cb.BuildLut(new float[2], new float[1])).Message);
    }
}
