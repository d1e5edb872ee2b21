using System.CommandLine;
using System.Diagnostics;
using Sieve.Eval;
using Sieve.Models;
using Sieve.Sparsity;

namespace Sieve.Cli.Commands;

/// <summary>
/// <c>sieve bench</c>'s activation-sparsity runs: the operator sets to time beside dense, from a thresholds file or
/// calibrated on random tokens first (<c>--sparsity-method M --sparsity S</c>: what a <c>--shape</c> model's random
/// weights allow), and what each timed row measured (sparsity per site, weight bytes per decoded token).
/// </summary>
sealed class SparsityBench
{
    public readonly SparsityArgs Args = new();
    public readonly Option<string?> Method = new("--sparsity-method")
    {
        Description = "Activation sparsity without a file: calibrate these methods (comma-separated: cats, chess, chess+, teal) on random tokens first (not timed), then time each beside dense",
    };
    public readonly Option<string?> Targets = new("--sparsity") { Description = "With --sparsity-method: target sparsities in [0, 1), comma-separated (each one for every layer); default 0.5" };

    public IEnumerable<Option> All => [.. Args.All, Method, Targets];

    /// <summary>Random calibration text: 4 documents of 256 tokens, seeded (the calibration takes seconds on an 8B shape).</summary>
    public const int Documents = 4, DocumentLength = 256, Seed = 1;

    /// <summary>The sets to time (empty without a sparsity option), in the order given; the calibration is timed apart.</summary>
    public List<ActivationSparsity> Read(ParseResult r, ForwardRunner tf, string modelName, out double? calibrationSeconds)
    {
        calibrationSeconds = null;
        string? methodText = r.GetValue(Method), targetText = r.GetValue(Targets), file = r.GetValue(Args.File);
        bool dense = r.GetValue(Args.DenseKernels), imOnly = r.GetValue(Args.InputMajorOnly);
        if (dense && imOnly) throw new ArgumentException("--sparsity-input-major-only: the input-major copies exist only with the sparse kernels (drop --sparsity-dense-kernels)");
        if (file != null && methodText != null) throw new ArgumentException("give --sparsity-file or --sparsity-method, not both");
        if (targetText != null && methodText == null) throw new ArgumentException("--sparsity: give --sparsity-method too (or a thresholds file with --sparsity-file)");
        if (file != null) return [SparsityArgs.Apply(tf.Model, ActivationThresholdsFile.Load(file), file, modelName, dense, imOnly)];
        if (methodText == null)
        {
            if (dense) throw new ArgumentException("--sparsity-dense-kernels: give --sparsity-file or --sparsity-method too");
            if (imOnly) throw new ArgumentException("--sparsity-input-major-only: give --sparsity-file or --sparsity-method too");
            if (r.GetValue(Args.Verbose)) throw new ArgumentException("--sparsity-verbose: give --sparsity-file or --sparsity-method too");
            return [];
        }
        var methods = SparsityTargets.Methods(methodText, "--sparsity-method");
        var targets = SparsityTargets.List(targetText ?? "0.5", "--sparsity");
        int L = tf.Config.LayerCount;
        var docs = CalibrationDocuments.Random(tf.Config.VocabSize, Documents, Math.Min(DocumentLength, tf.Config.ContextLength), Seed);
        var clock = Stopwatch.StartNew();
        Console.Error.WriteLine($"bench: calibrating {string.Join(", ", methods.Select(m => m.Name()))} at {string.Join(", ", targets.Select(t => $"{t:0.##}"))} on {docs.Source}");
        var stats = SparsityCalibrator.Measure(tf.Model, tf.Pool, docs, new CalibrationPlan(methods, targets.Select(t => Enumerable.Repeat(t, L).ToArray()).ToList()));
        calibrationSeconds = clock.Elapsed.TotalSeconds;
        Console.Error.WriteLine($"bench: calibration took {calibrationSeconds:F1} s (not part of any timed row)");
        var sets = new List<ActivationSparsity>();
        for (int t = 0; t < targets.Length; t++)
            foreach (var m in methods)
                sets.Add(SparsityArgs.Apply(tf.Model, stats.Thresholds(m, t, modelName), $"calibration on {docs.Source}", modelName, dense, imOnly));
        return sets;
    }

    /// <summary>The label of a set in the table: "chess+ 50%".</summary>
    public static string Label(ActivationSparsity s) =>
        $"{s.Thresholds.Method.Name()} {s.Thresholds.TargetSparsity.Average() * 100:0.#}%" + (s.SparseKernels ? "" : " (dense kernels)");

    /// <summary>
    /// The weights a dense decode token reads: every layer's seven projections and the output head (the embedding
    /// row is negligible). This is the bound the sparse rows' bytes are compared with.
    /// </summary>
    public static long DenseBytesPerToken(ModelWeights w) => SparsitySweep.DenseBytesPerToken(w);
}

/// <summary>What one timed row under a sparsity set measured.</summary>
/// <param name="DecodeBytesPerToken">Weight bytes per decoded token: the layers' products as the set counted them, over
/// the row's decode tokens (warm-up included), plus the output head, which stays dense; null for a prefill row.</param>
sealed record SparseRow(ActivationSparsity Set, IReadOnlyDictionary<string, double> Measured, double? DecodeBytesPerToken, long DenseBytesPerToken)
{
    /// <summary>The dense row run beside this one (its ratio's denominator).</summary>
    public KvSpeedResult? Pair { get; init; }

    /// <summary>Reads the set's statistics after a row (reset them before it).</summary>
    public static SparseRow Of(ActivationSparsity set, ForwardRunner tf, long decodeTokens)
    {
        var s = set.Stats;
        var measured = s.SitesSeen().ToDictionary(ActivationThresholdsFile.Key, site => s.Sparsity(site));
        double? bytes = decodeTokens > 0 ? (double)s.DecodeBytes / decodeTokens + tf.Weights.Output.ByteLength : null;
        return new SparseRow(set, measured, bytes, SparsityBench.DenseBytesPerToken(tf.Weights));
    }
}
