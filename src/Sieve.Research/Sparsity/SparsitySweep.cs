using System.Text.Json;
using System.Text.Json.Serialization;
using Sieve.Cache;
using Sieve.Eval;
using Sieve.Eval.Tasks;
using Sieve.Models;
using Sieve.Threading;
using Sieve.Tokenization;

namespace Sieve.Sparsity;

/// <summary>One method at one target sparsity, measured on the held-out text against dense.</summary>
public sealed record SweepPoint(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("target")] float Target,
    [property: JsonPropertyName("ppl")] double Perplexity,
    [property: JsonPropertyName("kl_mean")] double MeanKl,
    [property: JsonPropertyName("kl_max")] double MaxKl,
    [property: JsonPropertyName("top1_agreement")] double Top1,
    [property: JsonPropertyName("measured")] IReadOnlyDictionary<string, double> Measured,
    [property: JsonPropertyName("decode_tps")] double DecodeTps,
    [property: JsonPropertyName("dense_tps")] double DenseTps,
    [property: JsonPropertyName("speedup")] double Speedup,
    [property: JsonPropertyName("decode_weight_bytes_per_token")] double DecodeBytesPerToken,
    [property: JsonPropertyName("acc")] double? Accuracy,
    [property: JsonPropertyName("acc_norm")] double? AccuracyNorm);

/// <summary>What the sweep ran on, and the dense reference.</summary>
public sealed record SweepReport(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("text_sha256")] string Sha256,
    [property: JsonPropertyName("calibration_tokens")] long CalibrationTokens,
    [property: JsonPropertyName("calibration_windows")] int CalibrationWindows,
    [property: JsonPropertyName("calibration_seconds")] double CalibrationSeconds,
    [property: JsonPropertyName("heldout_tokens")] int HeldOutTokens,
    [property: JsonPropertyName("chess_l2")] bool L2,
    [property: JsonPropertyName("threads")] int Threads,
    [property: JsonPropertyName("dense_ppl")] double DensePerplexity,
    [property: JsonPropertyName("dense_weight_bytes_per_token")] long DenseBytesPerToken,
    [property: JsonPropertyName("task")] string? Task,
    [property: JsonPropertyName("dense_acc")] double? DenseAccuracy,
    [property: JsonPropertyName("dense_acc_norm")] double? DenseAccuracyNorm,
    [property: JsonPropertyName("points")] IReadOnlyList<SweepPoint> Points)
{
    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    public string Write(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        Formats.AtomicFile.Write(path, s => s.Write(System.Text.Encoding.UTF8.GetBytes(ToJson() + "\n")));
        return path;
    }
}

/// <summary>How the sweep runs: what it holds out, how it times, what it also scores.</summary>
public sealed record SweepSettings
{
    /// <summary>Held-out tokens at the end of the text (BOS first): scored one decode step at a time after a 1-token prompt.</summary>
    public int HeldOutTokens { get; init; } = 256;
    /// <summary>Calibration tokens at most, from the text ahead of the held-out part, in windows of <see cref="Window"/>.</summary>
    public long CalibrationTokens { get; init; } = 65536;
    public int Window { get; init; } = 2048;
    public bool L2 { get; init; }
    /// <summary>Decode steps per timing, and timings of each kind; dense and sparse alternate so drift hits both.</summary>
    public int SpeedTokens { get; init; } = 64;
    public int SpeedRepetitions { get; init; } = 3;
    /// <summary>Optional multiple-choice task (story questions): accuracy per point and dense.</summary>
    public IReadOnlyList<McqSample>? Task { get; init; }
    public string? TaskName { get; init; }
}

/// <summary>
/// <c>sieve sparsity sweep</c>: for each method and target, thresholds calibrated on the first part of a text (one
/// calibration run serves every method and target), then on the held-out rest: perplexity, KL divergence and top-1
/// agreement against dense through the decode path (a 1-token prompt, then teacher-forced single-row steps, so the
/// sparse kernels run as they do when generating), the sparsity each site really reached, weight bytes per decoded
/// token, and decode tokens/s against dense, alternating the two.
/// </summary>
public static class SparsitySweep
{
    public static SweepReport Run(Transformer model, WorkerPool pool, TextTokenizer tokenizer, string text, string textName, string sha256, string modelName,
        IReadOnlyList<SparsityMethod> methods, IReadOnlyList<float> targets, SweepSettings settings, IProgress<(double Fraction, string Step)>? progress = null)
    {
        var c = model.Config;
        int held = Math.Min(settings.HeldOutTokens, c.ContextLength);
        if (held < 4) throw new ArgumentException($"--heldout {settings.HeldOutTokens}: at least 4 tokens are needed to score");
        var all = tokenizer.Encode(text);
        int calibrationEnd = all.Length - (held - 1);
        if (calibrationEnd < 16)
            throw new ArgumentException($"{textName}: {all.Length} tokens are too few to hold out {held} and calibrate on at least 16 before them");
        // The held-out part: BOS, then the text's last held − 1 tokens, disjoint from every calibration window.
        int[] heldOut = tokenizer.BosId >= 0 ? [tokenizer.BosId, .. all[calibrationEnd..]] : all[(calibrationEnd - 1)..];
        int window = Math.Min(settings.Window, c.ContextLength);
        var docs = CalibrationDocuments.FromTokens(all[..calibrationEnd], window, settings.CalibrationTokens, textName, sha256);

        int L = c.LayerCount;
        int steps = targets.Count * methods.Count;
        double done = 0, total = 2 + steps;
        void Step(string s) => progress?.Report((done / total, s));
        Step($"calibrating on {docs.Source}");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var stats = SparsityCalibrator.Measure(model, pool, docs, new CalibrationPlan(methods, targets.Select(t => Enumerable.Repeat(t, L).ToArray()).ToList(), settings.L2),
            new Progress<double>(f => progress?.Report(((done + f) / total, $"calibrating on {docs.Source}"))));
        double calibrationSeconds = clock.Elapsed.TotalSeconds;
        done++;

        var runner = new ForwardRunner(model, pool, maxTokens: Math.Max(1, Math.Min(512, held)));
        IKvCache Cache(bool _) => runner.CreateDenseCache(heldOut.Length);
        Step("dense reference");
        var dense = KvPerplexity.LogProbs(runner, heldOut, 1, Cache(false));
        double densePpl = Math.Exp(-Enumerable.Range(0, dense.Length).Average(i => (double)dense[i][heldOut[2 + i]]));
        McqEvaluation? denseAcc = settings.Task is { } task ? McqEvaluation.Run(new McqScorer(runner, tokenizer), task, modelName, settings.TaskName ?? "task") : null;
        long denseBytes = DenseBytesPerToken(model.Weights);
        done++;

        var points = new List<SweepPoint>();
        for (int t = 0; t < targets.Count; t++)
            foreach (var method in methods)
            {
                Step($"{method.Name()} at {targets[t]:0.##}");
                var set = new ActivationSparsity(model, stats.Thresholds(method, t, modelName, sha256));
                var options = set.Apply();
                var r = KvPerplexity.Evaluate(runner, heldOut, 1, method.Name(), Cache, dense, computeBase: false, options: options);
                // Every step of the evaluation was a single row (the 1-token prompt and each decode step).
                double bytes = (double)set.Stats.DecodeBytes / (heldOut.Length - 1) + model.Weights.Output.ByteLength;
                var measured = set.Stats.SitesSeen().ToDictionary(ActivationThresholdsFile.Key, s => Math.Round(set.Stats.Sparsity(s), 5));
                McqEvaluation? acc = settings.Task is { } tk ? McqEvaluation.Run(new McqScorer(runner, tokenizer) { Forward = options }, tk, modelName, settings.TaskName ?? "task") : null;
                var (sparseTps, denseTps) = Speed(runner, options, settings, modelName);
                points.Add(new SweepPoint(method.Name(), targets[t], r.Perplexity, r.MeanKl ?? double.NaN, r.MaxKl ?? double.NaN, r.Top1Agreement ?? double.NaN, measured,
                    sparseTps, denseTps, sparseTps / denseTps, bytes, acc?.Acc, acc?.AccNorm));
                done++;
            }
        Step("done");
        return new SweepReport(modelName, textName, sha256, docs.Tokens, docs.Documents.Count, Math.Round(calibrationSeconds, 2), heldOut.Length, settings.L2, pool.ThreadCount,
            densePpl, denseBytes, settings.TaskName, denseAcc?.Acc, denseAcc?.AccNorm, points);
    }

    /// <summary>Median decode tokens/s of the set and of dense, timed alternately (dense, sparse, dense, sparse, …).</summary>
    static (double Sparse, double Dense) Speed(ForwardRunner runner, ForwardOptions options, SweepSettings settings, string modelName)
    {
        var spec = KvCacheSpec.Parse("dense");
        var sparse = new List<double>();
        var dense = new List<double>();
        for (int r = 0; r < settings.SpeedRepetitions; r++)
        {
            dense.Add(KvBenchmark.Decode(runner, spec, modelName, "", 0, settings.SpeedTokens, 1, synthetic: true).Speed.Mean);
            sparse.Add(KvBenchmark.Decode(runner, spec, modelName, "", 0, settings.SpeedTokens, 1, synthetic: true, options).Speed.Mean);
        }
        static double Median(List<double> v) { v.Sort(); return v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2; }
        return (Median(sparse), Median(dense));
    }

    /// <summary>Every layer's seven projections and the output head: what a dense decode token reads.</summary>
    public static long DenseBytesPerToken(ModelWeights w) => w.Layers.Sum(l => l.Wq.ByteLength + l.Wk.ByteLength + l.Wv.ByteLength + l.Wo.ByteLength
        + l.Gate.ByteLength + l.Up.ByteLength + l.Down.ByteLength) + w.Output.ByteLength;
}
