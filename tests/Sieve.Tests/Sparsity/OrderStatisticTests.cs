using Sieve.Sparsity;

namespace Sieve.Tests.Sparsity;

public class OrderStatisticTests
{
    [Fact]
    public void KthIsTheFloorSNthSmallestCountingFromOneAsTorchKthvalue()
    {
        // |v| sorted: 0, 0.1, 0.2, … 0.9. torch.kthvalue(|v|, int(0.5·10)) = the 5th smallest = 0.4 (index 4).
        float[] v = [0.3f, -0.1f, 0.2f, -0.5f, 0.4f, 0f, 0.6f, -0.7f, 0.8f, 0.9f];
        Assert.Equal(0.4f, OrderStatistic.Kth(v.Select(MathF.Abs).ToArray().AsSpan(), 0.5));
        Assert.Equal(0.6f, OrderStatistic.Kth(v.Select(MathF.Abs).ToArray().AsSpan(), 0.7));   // 7th smallest
        Assert.Equal(0.8f, OrderStatistic.Kth(v.Select(MathF.Abs).ToArray().AsSpan(), 0.999)); // ⌊9.99⌋ = 9: the 9th smallest
    }

    [Theory]
    [InlineData(0.5, 10, 4)]
    [InlineData(0.0, 10, -1)]     // s = 0: no threshold, nothing zeroed
    [InlineData(0.05, 10, -1)]    // ⌊0.5⌋ = 0: fewer than one value below the target
    [InlineData(0.1, 10, 0)]
    [InlineData(0.999, 1000, 998)]
    [InlineData(0.5, 1, -1)]
    public void IndexIsFloorSNMinusOne(double s, long n, long expected) => Assert.Equal(expected, OrderStatistic.Index(s, n));

    [Fact]
    public void SelectingSeveralIndicesMatchesASortForEveryLengthWithTies()
    {
        var random = new Random(5);
        for (int n = 1; n <= 300; n += n < 40 ? 1 : 17)
            foreach (int distinct in new[] { 1, 3, n })
            {
                var values = Enumerable.Range(0, n).Select(_ => (double)random.Next(distinct)).ToArray();
                var sorted = values.Order().ToArray();
                double[] targets = [0.0, 0.1, 0.3, 0.3, 0.5, 0.9, 0.99];
                var indices = targets.Select(t => OrderStatistic.Index(t, n)).ToArray();
                var results = new double[targets.Length];
                OrderStatistic.Select(values.AsSpan(), indices, results);
                for (int i = 0; i < targets.Length; i++)
                    Assert.Equal(indices[i] < 0 ? 0 : sorted[indices[i]], results[i]);
                Assert.Equal(sorted, values.Order().ToArray());   // a permutation, nothing lost
            }
    }

    [Fact]
    public void AdversarialOrdersStayCorrect()
    {
        int n = 100_000;
        var ascending = Enumerable.Range(0, n).Select(i => (float)i).ToArray();
        var organ = Enumerable.Range(0, n).Select(i => (float)Math.Min(i, n - i)).ToArray();
        foreach (var v in new[] { ascending, ascending.Reverse().ToArray(), organ })
        {
            var sorted = v.Order().ToArray();
            Assert.Equal(sorted[n / 2 - 1], OrderStatistic.Kth(v.ToArray().AsSpan(), 0.5));
        }
    }
}
