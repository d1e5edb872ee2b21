using System.Diagnostics;
using Sieve.Cache;
using Sieve.Cache.A2ats;
using Sieve.Models;
using Sieve.Sparsity;

namespace Sieve.A2ats;

/// <summary>
/// A²ATS's offline step (method notes §2.3): run calibration text through the model with a hook on the K and Q
/// sites, keep every pre-RoPE key and sum H = Σ q̃q̃ᵀ over the R_W-rotated queries of each KV head's group, then per
/// (layer, KV head) factor H = L·Lᵀ and run k-means on x = kᵀL, so the codes minimise the expected error of the
/// attention logit rather than of the key.
/// </summary>
/// <remarks>
/// The hook sees post-RoPE rows (what the cache sees); the layer's own RoPE takes them back: k = R_−n·k_n and
/// q̃ = R_W·R_−m·q_m, so the codebooks are fitted in exactly the convention the cache will score in.
/// </remarks>
public static class A2atsCalibrator
{
    /// <summary>Phases for a progress bar: collecting (fraction of tokens run), then fitting (fraction of heads fitted).</summary>
    public readonly record struct Progress(string Phase, double Fraction);

    /// <summary>Seconds the last calibration on this thread spent collecting and fitting.</summary>
    [ThreadStatic] public static (double Collect, double Fit) Timing;

    /// <param name="fingerprint">The model's <see cref="ModelFingerprint"/>, recorded so the codebooks refuse another model.</param>
    public static A2atsCodebooks Calibrate(ForwardRunner runner, IReadOnlyList<int[]> documents, A2atsCalibrationSettings settings,
        string modelName, string fingerprint, string? textSha256, IProgress<Progress>? progress = null)
    {
        var c = runner.Config;
        if (documents.Count == 0) throw new ArgumentException("no calibration documents");
        int longest = documents.Max(d => d.Length);
        if (longest > c.ContextLength) throw new ArgumentException($"a calibration document of {longest} tokens exceeds the model's context of {c.ContextLength}");
        var shape = runner.Model.CacheShape(longest);
        var collector = new Collector(shape, settings.Window);
        var options = ForwardOptions.WithHooks(collector);
        var cache = runner.CreateDenseCache(longest);
        long total = documents.Sum(d => (long)d.Length), done = 0;
        var clock = Stopwatch.StartNew();
        foreach (var doc in documents)
        {
            cache.Truncate(0);
            for (int at = 0; at < doc.Length; at += runner.MaxTokens)
            {
                int n = Math.Min(runner.MaxTokens, doc.Length - at);
                runner.Forward(doc.AsSpan(at, n), at, cache, ForwardStage.Prefill, ForwardRunner.LogitRows.None, options);
                done += n;
                progress?.Report(new Progress("collecting keys and queries", (double)done / total));
            }
        }
        double collectSeconds = clock.Elapsed.TotalSeconds;

        clock.Restart();
        int heads = c.LayerCount * c.KvHeadCount, fitted = 0;
        var books = new List<VqCodebook>(heads);
        var kmeans = new Cache.A2ats.KMeansOptions
        {
            Clusters = settings.Centroids, MaxIterations = settings.MaxIterations, Tolerance = settings.Tolerance, Seed = settings.Seed,
        };
        for (int l = 0; l < c.LayerCount; l++)
        {
            for (int h = 0; h < c.KvHeadCount; h++)
            {
                var (keys, n) = collector.Keys(l, h, settings.MaxKeys, settings.Seed);
                var metric = settings.QueryAware ? collector.Metric(l, h).Finish() : QueryAwareMetric.Identity(c.HeadDim);
                books.Add(VqCodebook.Fit(keys, n, c.HeadDim, metric, kmeans with { Seed = settings.Seed + l * 1000 + h }));
                progress?.Report(new Progress("fitting codebooks", (double)++fitted / heads));
            }
        }
        Timing = (collectSeconds, clock.Elapsed.TotalSeconds);
        return new A2atsCodebooks(books, c.LayerCount, c.KvHeadCount)
        {
            Window = settings.Window, ModelName = modelName, ModelFingerprint = fingerprint,
            CalibrationTokens = total, CalibrationSha256 = textSha256 ?? "",
        };
    }

    /// <summary>The hook: pre-RoPE keys per (layer, KV head), Σ q̃q̃ᵀ per (layer, KV head) over its group's query heads.</summary>
    sealed class Collector : IForwardHook
    {
        readonly KvCacheShape _shape;
        readonly int _window;
        readonly List<float[]>[,] _keys;     // chunks of pre-RoPE keys, headDim apart
        readonly int[,] _keyCount;
        readonly QueryMetricAccumulator[,] _metric;
        float[] _rows = [];

        public Collector(KvCacheShape shape, int window)
        {
            _shape = shape;
            _window = window;
            _keys = new List<float[]>[shape.Layers, shape.KvHeads];
            _keyCount = new int[shape.Layers, shape.KvHeads];
            _metric = new QueryMetricAccumulator[shape.Layers, shape.KvHeads];
            for (int l = 0; l < shape.Layers; l++)
                for (int h = 0; h < shape.KvHeads; h++) { _keys[l, h] = []; _metric[l, h] = new QueryMetricAccumulator(shape.HeadDim); }
        }

        public bool Wants(ActivationSite site, int layer) => (site is ActivationSite.K or ActivationSite.Q) && !_shape.WindowLimits(layer);

        public void OnActivation(ActivationSite site, int layer, ForwardStage stage, int startPos, int count, int width, Span<float> values)
        {
            int hd = _shape.HeadDim, g = _shape.GroupSize;
            var rope = _shape.Rope(layer);
            if (site == ActivationSite.K)
            {
                for (int h = 0; h < _shape.KvHeads; h++)
                {
                    var chunk = new float[count * hd];
                    for (int j = 0; j < count; j++)
                    {
                        var k = chunk.AsSpan(j * hd, hd);
                        values.Slice(j * width + h * hd, hd).CopyTo(k);
                        rope.ApplyInverse(k, 1, startPos + j);
                    }
                    _keys[layer, h].Add(chunk);
                    _keyCount[layer, h] += count;
                }
                return;
            }
            if (_rows.Length < count * g * hd) _rows = new float[count * g * hd];
            for (int h = 0; h < _shape.KvHeads; h++)
            {
                for (int j = 0; j < count; j++)
                    for (int i = 0; i < g; i++)
                    {
                        var q = _rows.AsSpan((j * g + i) * hd, hd);
                        values.Slice(j * width + (h * g + i) * hd, hd).CopyTo(q);
                        rope.ApplyInverse(q, 1, startPos + j);
                        rope.Apply(q, 1, _window);
                    }
                _metric[layer, h].Add(_rows.AsSpan(0, count * g * hd), count * g, hd);
            }
        }

        public QueryMetricAccumulator Metric(int layer, int kvHead) => _metric[layer, kvHead];

        /// <summary>The head's keys as one array (a seeded sample of <paramref name="max"/> when there are more); frees the chunks.</summary>
        public (float[] Keys, int Count) Keys(int layer, int kvHead, int max, int seed)
        {
            int hd = _shape.HeadDim, n = _keyCount[layer, kvHead];
            var all = new float[(long)n * hd];
            int at = 0;
            foreach (var chunk in _keys[layer, kvHead]) { chunk.CopyTo(all, at); at += chunk.Length; }
            _keys[layer, kvHead].Clear();
            if (max <= 0 || n <= max) return (all, n);
            // Partial Fisher–Yates: the first max rows become a uniform sample.
            var rng = new Random(seed ^ (layer * 7919 + kvHead));
            var tmp = new float[hd];
            for (int i = 0; i < max; i++)
            {
                int j = rng.Next(i, n);
                all.AsSpan(i * hd, hd).CopyTo(tmp);
                all.AsSpan(j * hd, hd).CopyTo(all.AsSpan(i * hd, hd));
                tmp.CopyTo(all.AsSpan(j * hd, hd));
            }
            return (all[..(max * hd)], max);
        }
    }
}
