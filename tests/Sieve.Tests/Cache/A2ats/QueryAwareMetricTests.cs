using Sieve.Cache.A2ats;

namespace Sieve.Tests.Cache.A2ats;

public class QueryAwareMetricTests
{
    static double[] NaiveSum(float[] rows, int n, int d)
    {
        var h = new double[d * d];
        for (int r = 0; r < n; r++)
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++) h[i * d + j] += (double)rows[r * d + i] * rows[r * d + j];
        return h;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    public void StreamedParallelSumEqualsTheDirectSum(int d)
    {
        int n = 1001;
        var rows = A2atsTestData.Gaussian(n, d, seed: d, scale: t => 1 + 3 * t);
        var acc = new QueryMetricAccumulator(d);
        // Batches of 1–9 rows from several threads; the last batch through a padded stride.
        var batches = new List<(int Start, int Count)>();
        for (int s = 0, c = 1; s < n; s += c, c = c % 9 + 1) batches.Add((s, Math.Min(c, n - s)));
        Parallel.ForEach(batches, new ParallelOptions { MaxDegreeOfParallelism = 4 }, b =>
        {
            if (b.Count == 1) acc.Add(rows.AsSpan(b.Start * d, d), 1);
            else
            {
                int stride = d + 3;
                var padded = new float[b.Count * stride];
                for (int r = 0; r < b.Count; r++) rows.AsSpan((b.Start + r) * d, d).CopyTo(padded.AsSpan(r * stride));
                acc.Add(padded, b.Count, stride);
            }
        });
        Assert.Equal(n, acc.Rows);
        var want = NaiveSum(rows, n, d);
        var got = acc.Sum();
        double max = want.Max(Math.Abs);
        for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(got[i] - want[i]) <= 1e-12 * max, $"entry {i}: {got[i]} vs {want[i]}");

        var other = new QueryMetricAccumulator(d);
        other.Add(rows.AsSpan(0, 10 * d), 10);
        var merged = new QueryMetricAccumulator(d);
        merged.Merge(acc);
        merged.Merge(other);
        Assert.Equal(n + 10, merged.Rows);
        var extra = NaiveSum(rows, 10, d);
        var m = merged.Sum();
        for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(m[i] - want[i] - extra[i]) <= 1e-12 * max);
    }

    [Fact]
    public void FinishNormalisesByTheRmsEntryAndFactors()
    {
        int d = 16, n = 500;
        var rows = A2atsTestData.Gaussian(n, d, seed: 3, scale: t => Math.Pow(2, t / 3.0));
        var acc = new QueryMetricAccumulator(d);
        acc.Add(rows, n);
        var metric = acc.Finish();
        var sum = NaiveSum(rows, n, d);
        double rms = Math.Sqrt(sum.Sum(v => v * v) / sum.Length);
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
            {
                double want = sum[i * d + j] / rms + (i == j ? 1e-6 : 0);
                Assert.True(Math.Abs(metric.H![i * d + j] - want) <= 1e-12 * Math.Max(1, Math.Abs(want)));
                double llt = 0;
                for (int k = 0; k < d; k++) llt += metric.L[i * d + k] * metric.L[j * d + k];
                Assert.True(Math.Abs(llt - metric.H[i * d + j]) <= 1e-12, $"L·Lᵀ at ({i},{j})");
            }
        Assert.Equal(n, metric.Rows);
        // x = kᵀL: ‖x‖² = kᵀHk.
        var key = A2atsTestData.Gaussian(1, d, seed: 9);
        var x = new float[d];
        metric.ToMetricSpace(key, x);
        double quad = 0;
        var h = Assert.IsType<double[]>(metric.H);   // a metric fitted from queries keeps its H
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) quad += key[i] * h[i * d + j] * key[j];
        Assert.Equal(quad, x.Sum(v => (double)v * v), quad * 1e-5);
    }

    [Fact]
    public void RankDeficientQueriesAreRescuedByTheRidge()
    {
        // All queries along one direction: H has rank 1, the 1e-6 ridge keeps it positive definite.
        int d = 8;
        var acc = new QueryMetricAccumulator(d);
        var q = new float[d];
        q[2] = 1;
        for (int i = 0; i < 5; i++) acc.Add(q, 1);
        var metric = acc.Finish();
        Assert.True(metric.L[0] > 0 && metric.L[0] < 0.01);
    }

    [Fact]
    public void BadInputIsNamed()
    {
        Assert.Contains("no queries were collected", Assert.Throws<ArgumentException>(() => new QueryMetricAccumulator(4).Finish()).Message);
        var acc = new QueryMetricAccumulator(2);
        acc.Add([float.NaN, 1], 1);
        Assert.Contains("not finite", Assert.Throws<ArgumentException>(() => acc.Finish()).Message);
        var zero = new QueryMetricAccumulator(2);
        zero.Add([0, 0], 1);
        Assert.Contains("all zero", Assert.Throws<ArgumentException>(() => zero.Finish()).Message);
        Assert.Contains("need", Assert.Throws<ArgumentException>(() => new QueryMetricAccumulator(4).Add(new float[7], 2)).Message);
        Assert.Throws<ArgumentException>(() => new QueryMetricAccumulator(0));
        Assert.Throws<ArgumentException>(() => new QueryMetricAccumulator(2).Merge(new QueryMetricAccumulator(3)));
    }
}
