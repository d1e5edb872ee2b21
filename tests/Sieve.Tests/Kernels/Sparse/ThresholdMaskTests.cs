using Sieve.Kernels.Sparse;
using static Sieve.Tests.Kernels.Sparse.SparseMatrices;

namespace Sieve.Tests.Kernels.Sparse;

/// <summary>The keep rule |x| ≥ θ, vectorised, against its scalar twin, with the zero counts the stats report.</summary>
public class ThresholdMaskTests
{
    static float[] Values(int n, int seed)
    {
        var rng = new Random(seed);
        var x = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        if (n > 3) { x[1] = 0; x[2] = -0f; x[3] = -x[3]; }
        return x;
    }

    [Fact]
    public void OneThresholdEqualsTheScalarTwinAtEveryLength()
    {
        foreach (int n in Enumerable.Range(0, 41).Concat(new[] { 63, 64, 65, 100, 1000 }))
            foreach (float theta in new[] { 0f, 0.25f, 0.5f, 2f })
            {
                var x = Values(n, n);
                var a = new float[n];
                var b = new float[n];
                long zeros = ThresholdMask.Apply(x, theta, a);
                Assert.Equal(ThresholdMask.Scalar(x, _ => theta, b), zeros);
                Assert.True(BitwiseEqual(b, a), $"n = {n}, θ = {theta}");
                Assert.Equal(a.Count(v => v == 0), zeros);
            }
    }

    [Fact]
    public void PerChannelThresholdsEqualTheScalarTwinOverRows()
    {
        foreach (int width in new[] { 1, 5, 8, 9, 16, 31, 33, 100 })
            foreach (int rows in new[] { 1, 3 })
            {
                var x = Values(width * rows, width);
                var theta = Values(width, width + 1).Select(v => MathF.Abs(v) * 0.8f).ToArray();
                var a = new float[x.Length];
                var b = new float[x.Length];
                long zeros = ThresholdMask.Apply(x, theta, a);
                Assert.Equal(ThresholdMask.Scalar(x, i => theta[i % width], b), zeros);
                Assert.True(BitwiseEqual(b, a), $"width {width}, rows {rows}");
            }
    }

    [Fact]
    public void KeepsMagnitudesAtOrAboveTheThresholdWhateverTheSign()
    {
        var x = new[] { -0.5f, 0.5f, -0.3f, 0.3f, 0.4f, -0.4f, 0f, float.NaN, float.NegativeInfinity, 1e-30f };
        var dst = new float[x.Length];
        long zeros = ThresholdMask.Apply(x, 0.4f, dst);
        Assert.Equal(new[] { -0.5f, 0.5f, 0f, 0f, 0.4f, -0.4f, 0f, 0f, float.NegativeInfinity, 0f }, dst);
        Assert.Equal(5, zeros);   // ±0.3, the zero, NaN (|NaN| ≥ θ is false) and 1e-30
    }

    [Fact]
    public void ZeroThresholdKeepsEverythingAndCountsTheZerosThere()
    {
        var x = Values(77, 3);
        var dst = new float[77];
        long zeros = ThresholdMask.Apply(x, 0f, dst);
        Assert.True(BitwiseEqual(x, dst));
        Assert.Equal(2, zeros);   // the 0 and the −0 that Values puts there
        var perChannel = new float[77];
        Assert.Equal(2, ThresholdMask.Apply(x, new float[7], perChannel));
        Assert.True(BitwiseEqual(x, perChannel));
    }

    [Fact]
    public void MasksInPlace()
    {
        var x = Values(50, 4);
        var expected = new float[50];
        long zeros = ThresholdMask.Scalar(x, _ => 0.3f, expected);
        Assert.Equal(zeros, ThresholdMask.Apply(x, 0.3f, x));
        Assert.True(BitwiseEqual(expected, x));
    }

    [Fact]
    public void RefusesRaggedRowsAndShortDestinations()
    {
        Assert.Throws<ArgumentException>(() => ThresholdMask.Apply(new float[10], new float[3], new float[10]));
        Assert.Throws<ArgumentException>(() => ThresholdMask.Apply(new float[9], new float[3], new float[8]));
        Assert.Throws<ArgumentException>(() => ThresholdMask.Apply(new float[9], 0.1f, new float[8]));
    }
}
