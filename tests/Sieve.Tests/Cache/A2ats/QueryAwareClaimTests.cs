using Xunit.Abstractions;
using Sieve.Cache.A2ats;

namespace Sieve.Tests.Cache.A2ats;

/// <summary>
/// The method's claim (notes §2.3) on synthetic data with a double-precision reference: when the queries are
/// anisotropic (H far from I), codes fitted by k-means on x = kᵀL and decoded by C = X·L⁻¹ give a smaller logit
/// error E[(q̃ᵀk − q̃ᵀĉ(k))²] on held-out queries and keys than plain k-means on the keys, at the same K.
/// </summary>
public class QueryAwareClaimTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(16, 64)]
    [InlineData(32, 128)]
    public void QueryAwareCodesHaveSmallerLogitErrorThanPlainKMeans(int d, int k)
    {
        // Queries: a few strong directions (a random rotation of a decaying spectrum), as real query heads have.
        // Keys: spread in other directions too, so plain k-means spends its centroids on variance no query sees.
        var rng = new Random(d);
        var mix = Enumerable.Range(0, d * d).Select(_ => A2atsTestData.Normal(rng)).ToArray();
        float[] Queries(int n, int seed)
        {
            var raw = A2atsTestData.Gaussian(n, d, seed, scale: t => 4 * Math.Pow(0.6, t));
            var q = new float[n * d];
            for (int r = 0; r < n; r++)
                for (int j = 0; j < d; j++)
                {
                    double s = 0;
                    for (int i = 0; i < d; i++) s += raw[r * d + i] * mix[i * d + j];
                    q[r * d + j] = (float)(s / Math.Sqrt(d));
                }
            return q;
        }
        float[] Keys(int n, int seed) => A2atsTestData.Gaussian(n, d, seed, scale: t => 1 + 0.5 * (t % 4));

        int nCal = 4000, nKeys = 4000, nHeld = 1000;
        var acc = new QueryMetricAccumulator(d);
        acc.Add(Queries(nCal, 100), nCal);
        var metric = acc.Finish();
        var options = new KMeansOptions { Clusters = k, Seed = 7 };
        var keys = Keys(nKeys, 200);
        var aware = VqCodebook.Fit(keys, nKeys, d, metric, options);
        var plain = VqCodebook.Fit(keys, nKeys, d, QueryAwareMetric.Identity(d), options);

        var heldQ = Queries(nHeld, 300);
        var heldK = Keys(nHeld, 400);
        double Error(VqCodebook cb)
        {
            var c = new float[d];
            double sum = 0;
            for (int r = 0; r < nHeld; r++)
            {
                var key = heldK.AsSpan(r * d, d);
                cb.CentroidKey(cb.Encode(key), c);
                var e = new double[d];
                for (int t = 0; t < d; t++) e[t] = (double)key[t] - c[t];
                // Mean over all held-out queries of (q̃ᵀ(k − ĉ))².
                for (int s = 0; s < nHeld; s++)
                {
                    double dot = 0;
                    for (int t = 0; t < d; t++) dot += heldQ[s * d + t] * e[t];
                    sum += dot * dot;
                }
            }
            return sum / ((double)nHeld * nHeld);
        }
        double awareError = Error(aware), plainError = Error(plain);
        output.WriteLine($"d {d}, K {k}: logit error query-aware {awareError:G4}, plain k-means {plainError:G4} ({plainError / awareError:F2}×)");
        // The spectrum decays by 0.6 per direction, so H is far from I and the gain is large (measured 7.4× at d 16, 8.2× at d 32).
        Assert.True(awareError < 0.7 * plainError, $"query-aware logit error {awareError:G4} vs plain k-means {plainError:G4}");
    }
}
