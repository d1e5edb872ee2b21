using System.CommandLine;
using System.Security.Cryptography;
using Sieve.Eval.Tasks;
using Sieve.Sparsity;
using Spectre.Console;

namespace Sieve.Cli.Commands;

/// <summary>
/// <c>sieve sparsity sweep</c>: accuracy against decode speed for each method and target sparsity, calibrated on
/// the first part of a text and measured on its held-out end; JSON and a PNG.
/// </summary>
static class SparsitySweepCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var file = new Option<string>("--file", "-f") { Description = "Text: calibration on its first part, perplexity and KL on its last --heldout tokens", Required = true };
        var methods = new Option<string>("--methods") { Description = "Methods, comma-separated", DefaultValueFactory = _ => "cats,chess,chess+,teal" };
        var sparsities = new Option<string>("--sparsities") { Description = "Target sparsities in [0, 1), comma-separated (each for every layer)", DefaultValueFactory = _ => "0.3,0.4,0.5,0.6,0.7" };
        var heldout = new Option<int>("--heldout") { Description = "Held-out tokens at the end of the text (default, or 0: 256, at most the model's context)" }.AtLeast(0);
        var tokens = new Option<int>("--tokens") { Description = "Calibration tokens at most, from the text before the held-out part", DefaultValueFactory = _ => 65536 }.AtLeast(2);
        var window = new Option<int>("--window") { Description = "Calibration window in tokens (default, or 0: 2048 or the model's context if less)" }.AtLeast(0);
        var l2 = new Option<bool>("--chess-l2") { Description = "CHESS's original statistic: θ_i = √(τ / E[up_i²])" };
        var speedTokens = new Option<int>("--speed-tokens") { Description = "Decode steps per timing", DefaultValueFactory = _ => 64 }.AtLeast(1);
        var speedReps = new Option<int>("--speed-reps") { Description = "Timings of each kind (dense and sparse alternate); the median is reported", DefaultValueFactory = _ => 3 }.AtLeast(1);
        var task = new Option<string?>("--task") { Description = "Also score a multiple-choice task (e.g. models/stories260K/tasks/story-questions.jsonl) at every point and dense" };
        var limit = new Option<int>("--limit") { Description = "With --task: the first N samples only (0 = all)" }.AtLeast(0);
        var output = new Option<string>("--output", "-o") { Description = "JSON to write", Required = true };
        var png = new Option<string?>("--png") { Description = "Also plot KL and perplexity against the decode speed-up to this PNG" };
        var json = new Option<bool>("--json") { Description = "Print the JSON on stdout instead of the table" };
        var threads = CommonOptions.Threads();
        var tokenizer = CommonOptions.Tokenizer();
        var cmd = new Command("sweep", "Accuracy (perplexity, KL against dense) against decode speed for each method and target sparsity")
            { model, file, methods, sparsities, heldout, tokens, window, l2, speedTokens, speedReps, task, limit, output, png, json, threads, tokenizer };
        cmd.SetAction(r => CliErrors.Guard(() =>
        {
            var chosen = SparsityTargets.Methods(r.GetValue(methods)!, "--methods");
            var targets = SparsityTargets.List(r.GetValue(sparsities)!, "--sparsities");
            if (targets.Distinct().Count() != targets.Length) throw new ArgumentException($"--sparsities {r.GetValue(sparsities)}: a target is listed twice");
            if (r.GetValue(l2) && !chosen.Any(m => m is SparsityMethod.Chess or SparsityMethod.ChessPlus)) throw new ArgumentException("--chess-l2: only for chess and chess+ (none is in --methods)");
            if (r.GetValue(window) == 1) throw new ArgumentException("--window 1: a window needs at least 2 tokens");
            string path = r.GetValue(file)!;
            if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
            var bytes = File.ReadAllBytes(path);
            string text = System.Text.Encoding.UTF8.GetString(bytes);
            if (string.IsNullOrWhiteSpace(text)) throw new ArgumentException($"{path}: the text is empty");
            using var m = SieveModel.Load(r.GetValue(model)!, new SieveModelOptions { Threads = CommonOptions.ThreadCount(r, threads), TokenizerPath = r.GetValue(tokenizer) });
            IReadOnlyList<McqSample>? samples = r.GetValue(task) is { } tp ? McqTask.Load(tp, "auto", r.GetValue(limit)) : null;
            var settings = new SweepSettings
            {
                HeldOutTokens = r.GetValue(heldout) > 0 ? r.GetValue(heldout) : 256, CalibrationTokens = r.GetValue(tokens),
                Window = r.GetValue(window) > 0 ? r.GetValue(window) : 2048, L2 = r.GetValue(l2),
                SpeedTokens = r.GetValue(speedTokens), SpeedRepetitions = r.GetValue(speedReps),
                Task = samples, TaskName = r.GetValue(task) is { } tn ? Path.GetFileName(tn) : null,
            };
            string modelName = PopArgs.ModelName(r.GetValue(model)!);
            SweepReport report = null!;
            StderrConsole.Instance.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(ctx =>
                {
                    var bar = ctx.AddTask("sparsity sweep", maxValue: 1.0);
                    report = SparsitySweep.Run(m.Transformer, m.Pool, m.Tokenizer, text, Path.GetFileName(path), Convert.ToHexStringLower(SHA256.HashData(bytes)), modelName,
                        chosen, targets, settings, new Progress<(double Fraction, string Step)>(p => { bar.Value = p.Fraction; bar.Description = p.Step; }));
                    bar.Value = 1.0;
                });
            var jsonPath = report.Write(r.GetValue(output)!);
            string? plotPath = r.GetValue(png) is { } pp ? SweepPlot.Write(report, pp) : null;
            if (r.GetValue(json)) Console.WriteLine(report.ToJson());
            else
            {
                Print(report);
                Console.WriteLine($"data: {jsonPath}");
                if (plotPath != null) Console.WriteLine($"plot: {plotPath}");
            }
            return 0;
        }));
        return cmd;
    }

    static void Print(SweepReport x)
    {
        bool acc = x.Task != null;
        var t = new Table().AddColumns("method", "target", "measured", "PPL", "mean KL", "top-1", "× dense", "MiB/tok");
        if (acc) t.AddColumn("acc");
        var denseRow = new List<string> { "dense", "–", "–", $"{x.DensePerplexity:F3}", "0", "100%", "1.00", $"{x.DenseBytesPerToken / 1048576.0:F2}" };
        if (acc) denseRow.Add($"{x.DenseAccuracy:F3}");
        t.AddRow(denseRow.ToArray());
        foreach (var p in x.Points)
        {
            var row = new List<string>
            {
                p.Method, $"{p.Target:0.##}", $"{p.Measured.Values.Min() * 100:0.#}–{p.Measured.Values.Max() * 100:0.#}%", $"{p.Perplexity:F3}", $"{p.MeanKl:F4}",
                $"{p.Top1 * 100:0.#}%", $"{p.Speedup:F2}", $"{p.DecodeBytesPerToken / 1048576.0:F2}",
            };
            if (acc) row.Add($"{p.Accuracy:F3}");
            t.AddRow(row.ToArray());
        }
        t.Caption($"measured: the lowest and highest site (each site in the JSON); × dense: decode t/s against dense; calibrated on {x.CalibrationTokens} tokens ({x.CalibrationWindows} windows, {x.CalibrationSeconds:F1} s); scored on the {x.HeldOutTokens} held-out tokens one decode step at a time; speed {x.Threads} threads");
        AnsiConsole.Write(t);
    }
}
