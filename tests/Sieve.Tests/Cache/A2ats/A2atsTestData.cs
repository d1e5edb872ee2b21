namespace Sieve.Tests.Cache.A2ats;

/// <summary>Seeded synthetic data for the A²ATS tests.</summary>
static class A2atsTestData
{
    public static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>n rows of d, each coordinate t scaled by scales[t] (anisotropic Gaussian), optionally rotated by a
    /// random orthogonal-ish mix so the large directions are not the axes.</summary>
    public static float[] Gaussian(int n, int d, int seed, Func<int, double>? scale = null)
    {
        var rng = new Random(seed);
        var v = new float[n * d];
        for (int i = 0; i < v.Length; i++) v[i] = (float)(Normal(rng) * (scale?.Invoke(i % d) ?? 1.0));
        return v;
    }

    /// <summary>n points around <paramref name="centres"/> well-separated centres (spread 10) with noise 0.5.</summary>
    public static float[] Clustered(int n, int d, int centres, int seed)
    {
        var rng = new Random(seed);
        var c = Enumerable.Range(0, centres * d).Select(_ => Normal(rng) * 10).ToArray();
        var v = new float[n * d];
        for (int i = 0; i < n; i++)
        {
            int j = rng.Next(centres);
            for (int t = 0; t < d; t++) v[i * d + t] = (float)(c[j * d + t] + 0.5 * Normal(rng));
        }
        return v;
    }

    public static double SquaredDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int t = 0; t < a.Length; t++) { double e = (double)a[t] - b[t]; s += e * e; }
        return s;
    }

    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int t = 0; t < a.Length; t++) s += (double)a[t] * b[t];
        return s;
    }
}
