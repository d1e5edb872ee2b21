using Sieve.Kernels;

namespace Sieve.Tests.Kernels;

/// <summary>The SIMD (TensorPrimitives) element-wise kernels against their scalar twins, over every small length.</summary>
public class ElementwiseKernelTests
{
    // f32 reductions in a different order differ by a few ulps per element summed.
    const float RelativeTolerance = 1e-5f;

    public static IEnumerable<object[]> Lengths() => new[] { 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 257, 1000 }.Select(n => new object[] { n });

    static float[] Random(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();
    }

    static void Close(float[] expected, float[] actual, float tol = RelativeTolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            float e = expected[i], a = actual[i];
            if (float.IsNaN(e)) { Assert.True(float.IsNaN(a), $"[{i}] expected NaN, got {a}"); continue; }
            Assert.True(MathF.Abs(e - a) <= tol * MathF.Max(1f, MathF.Abs(e)), $"[{i}] expected {e}, got {a}");
        }
    }

    [Theory, MemberData(nameof(Lengths))]
    public void RmsNormMatchesScalar(int n)
    {
        var x = Random(n, n, 3f);
        var w = Random(n, n + 1);
        var a = new float[n];
        var b = new float[n];
        RmsNorm.Scalar(x, w, 1e-5f, a);
        RmsNorm.Apply(x, w, 1e-5f, b);
        Close(a, b);
    }

    [Fact]
    public void RmsNormMayRunInPlace()
    {
        var x = Random(64, 1);
        var w = Random(64, 2);
        var expected = new float[64];
        RmsNorm.Scalar(x, w, 1e-6f, expected);
        RmsNorm.Apply(x, w, 1e-6f, x);
        Close(expected, x);
    }

    [Theory, MemberData(nameof(Lengths))]
    public void SoftmaxMatchesScalarAndSumsToOne(int n)
    {
        var a = Random(n, n, 20f);
        var b = (float[])a.Clone();
        Softmax.Scalar(a);
        Softmax.Apply(b);
        Close(a, b, 1e-5f);
        Assert.Equal(1.0, b.Sum(), 4);
    }

    [Fact]
    public void SoftmaxSurvivesExtremeLogits()
    {
        float[] x = [1e30f, -1e30f, 0f, float.NegativeInfinity, 88f];
        Softmax.Apply(x);
        Assert.Equal(1f, x[0]);
        Assert.All(x.Skip(1), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void SoftmaxPropagatesNaN()
    {
        float[] x = [1f, float.NaN, 2f];
        Softmax.Apply(x);
        Assert.Contains(x, float.IsNaN);
    }

    [Theory, MemberData(nameof(Lengths))]
    public void SwiGluMatchesScalar(int n)
    {
        var g1 = Random(n, n, 8f);
        var g2 = (float[])g1.Clone();
        var up = Random(n, n + 7, 2f);
        SwiGlu.Scalar(g1, up);
        SwiGlu.Apply(g2, up);
        Close(g1, g2, 1e-5f);
    }

    [Theory, MemberData(nameof(Lengths))]
    public void GeGluMatchesScalar(int n)
    {
        var g1 = Random(n, n + 1, 8f);
        var g2 = (float[])g1.Clone();
        var up = Random(n, n + 9, 2f);
        GeGlu.Scalar(g1, up);
        GeGlu.Apply(g2, up);
        Close(g1, g2, 1e-5f);
    }

    [Fact]
    public void GeGluIsGeluTanhTimesUp()
    {
        // Published values of gelu_tanh: gelu(1) = 0.841192, gelu(-1) = -0.158808, gelu(3) = 2.996363.
        float[] g = [1f, -1f, 3f, 0f, -20f];
        GeGlu.Apply(g, [1f, 1f, 2f, 5f, 1f]);
        Assert.Equal(0.841192f, g[0], 5);
        Assert.Equal(-0.158808f, g[1], 5);
        Assert.Equal(2 * 2.996363f, g[2], 4);
        Assert.Equal(0f, g[3]);
        Assert.True(MathF.Abs(g[4]) < 1e-6f);
    }

    [Theory, MemberData(nameof(Lengths))]
    public void SoftcapMatchesScalarAndStaysInsideTheCap(int n)
    {
        var a = Random(n, n + 3, 200f);
        var b = (float[])a.Clone();
        Softcap.Scalar(a, 30f);
        Softcap.Apply(b, 30f);
        Close(a, b, 1e-4f);
        Assert.All(b, v => Assert.True(MathF.Abs(v) <= 30f));
    }

    [Fact]
    public void SwiGluHandlesInfinities()
    {
        float[] g = [float.PositiveInfinity, float.NegativeInfinity, 0f, -100f];
        float[] up = [1f, 1f, 5f, 1f];
        SwiGlu.Apply(g, up);
        Assert.Equal(float.PositiveInfinity, g[0]);
        Assert.Equal(0f, g[2]);
        Assert.True(MathF.Abs(g[3]) < 1e-30f);
    }
}
