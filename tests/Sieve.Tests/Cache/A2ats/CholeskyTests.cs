using Sieve.Cache.A2ats;

namespace Sieve.Tests.Cache.A2ats;

public class CholeskyTests
{
    /// <summary>A random SPD matrix A·Aᵀ + 0.1·I (its condition number is modest, ~1e2–1e3).</summary>
    internal static double[] RandomSpd(int d, int seed)
    {
        var rng = new Random(seed);
        var a = Enumerable.Range(0, d * d).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        var h = new double[d * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
            {
                double s = i == j ? 0.1 : 0;
                for (int k = 0; k < d; k++) s += a[i * d + k] * a[j * d + k];
                h[i * d + j] = s;
            }
        return h;
    }

    static double[] Mul(double[] a, double[] b, int d, bool transposeB = false)
    {
        var c = new double[d * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
            {
                double s = 0;
                for (int k = 0; k < d; k++) s += a[i * d + k] * (transposeB ? b[j * d + k] : b[k * d + j]);
                c[i * d + j] = s;
            }
        return c;
    }

    [Fact]
    public void TextbookExampleFactorsExactly()
    {
        // The worked example with an integer factor: [[4,12,-16],[12,37,-43],[-16,-43,98]] = L·Lᵀ, L = [[2],[6,1],[-8,5,3]].
        double[] h = [4, 12, -16, 12, 37, -43, -16, -43, 98];
        var l = Cholesky.Factor(h, 3);
        Assert.Equal(new double[] { 2, 0, 0, 6, 1, 0, -8, 5, 3 }, l);
        var inv = Cholesky.InvertLower(l, 3);
        // By forward substitution on paper: L⁻¹ = [[1/2], [-3, 1], [19/3, -5/3, 1/3]].
        double[] expected = [0.5, 0, 0, -3, 1, 0, 19.0 / 3, -5.0 / 3, 1.0 / 3];
        for (int i = 0; i < 9; i++) Assert.Equal(expected[i], inv[i], 14);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(64)]
    [InlineData(128)]
    public void ReproducesRandomSpdMatrices(int d)
    {
        var h = RandomSpd(d, d);
        var l = Cholesky.Factor(h, d);
        double max = h.Max(Math.Abs);
        for (int i = 0; i < d; i++)
            for (int j = i + 1; j < d; j++) Assert.Equal(0.0, l[i * d + j]);
        var llt = Mul(l, l, d, transposeB: true);
        for (int i = 0; i < h.Length; i++) Assert.True(Math.Abs(llt[i] - h[i]) <= 1e-12 * max, $"L·Lᵀ differs at {i}: {llt[i]} vs {h[i]}");
        var inv = Cholesky.InvertLower(l, d);
        var eye = Mul(l, inv, d);
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                Assert.True(Math.Abs(eye[i * d + j] - (i == j ? 1 : 0)) <= 1e-10, $"L·L⁻¹ at ({i},{j}) = {eye[i * d + j]}");
    }

    [Fact]
    public void RejectsWhatIsNotSpd()
    {
        var indefinite = Assert.Throws<ArgumentException>(() => Cholesky.Factor([1, 2, 2, 1], 2));
        Assert.Contains("not positive definite", indefinite.Message);
        Assert.Contains("pivot 1", indefinite.Message);
        var singular = Assert.Throws<ArgumentException>(() => Cholesky.Factor([1, 1, 1, 1], 2));
        Assert.Contains("not positive definite", singular.Message);
        Assert.Contains("not symmetric", Assert.Throws<ArgumentException>(() => Cholesky.Factor([2, 1, 0, 2], 2)).Message);
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => Cholesky.Factor([double.NaN, 0, 0, 1], 2)).Message);
        Assert.Contains("needs 4 values", Assert.Throws<ArgumentException>(() => Cholesky.Factor([1, 0, 0], 2)).Message);
        Assert.Contains("not invertible", Assert.Throws<ArgumentException>(() => Cholesky.InvertLower([1, 0, 3, 0], 2)).Message);
    }
}
