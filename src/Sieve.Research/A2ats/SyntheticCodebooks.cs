using System.Diagnostics;
using Sieve.Cache.A2ats;
using Sieve.Models;

namespace Sieve.A2ats;

/// <summary>
/// Codebooks for a random-weight <c>--shape</c> benchmark, which has no text to calibrate on: per (layer, KV head),
/// K keys drawn from the same distribution as <see cref="Eval.KvBenchmark.FillSynthetic"/>'s pre-RoPE keys (the
/// per-channel offset plus unit noise) become the centroids — k-means with Forgy's initialisation and no Lloyd
/// iteration — under the identity metric (the fill's queries are isotropic, so H ∝ I). Fitting costs nothing; the
/// codes then cost what real codes cost, which is all a throughput benchmark measures. Their accuracy means nothing.
/// </summary>
public static class SyntheticCodebooks
{
    public static A2atsCodebooks Fit(ForwardRunner runner, int centroids = 4096, int seed = 1)
    {
        var c = runner.Config;
        int hd = c.HeadDim;
        var offset = Eval.KvBenchmark.SyntheticKeyOffset(c.KvDim, seed);
        var heads = new VqCodebook[c.LayerCount * c.KvHeadCount];
        var identity = QueryAwareMetric.Identity(hd);
        var options = new KMeansOptions { Clusters = centroids, Init = KMeansInit.Forgy, MaxIterations = 0, Seed = seed };
        Parallel.For(0, heads.Length, new ParallelOptions { MaxDegreeOfParallelism = runner.Pool.ThreadCount }, i =>
        {
            var rng = new Eval.KvBenchmark.XorShift((uint)(seed * 7919 + i + 1));
            var keys = new float[centroids * hd];
            var o = offset.AsSpan(i % c.KvHeadCount * hd, hd);
            for (int t = 0; t < centroids; t++)
                for (int j = 0; j < hd; j++) keys[t * hd + j] = o[j] + rng.NextGaussianish();
            heads[i] = VqCodebook.Fit(keys, centroids, hd, identity, options);
        });
        return new A2atsCodebooks(heads, c.LayerCount, c.KvHeadCount)
        {
            ModelName = "synthetic keys", ModelFingerprint = runner.Model.Fingerprint,
        };
    }
}
