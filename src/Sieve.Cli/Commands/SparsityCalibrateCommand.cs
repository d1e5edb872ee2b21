using System.CommandLine;
using System.Diagnostics;
using Sieve.Sparsity;
using Spectre.Console;

namespace Sieve.Cli.Commands;

/// <summary>
/// <c>sieve sparsity calibrate</c>: per-layer (CATS, TEAL) or per-channel (CHESS) activation thresholds from a
/// calibration text, written as a thresholds file for <c>--sparsity-file</c>.
/// </summary>
static class SparsityCalibrateCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var file = new Option<string>("--file", "-f") { Description = "Calibration text: documents separated by blank lines, each cut into windows of --window tokens", Required = true };
        var method = new Option<string>("--method") { Description = "cats (one gate threshold per layer), chess (one per FFN channel), chess+ (chess plus the q_proj and o_proj inputs) or teal (every projection's input)", Required = true };
        var sparsity = new Option<string>("--sparsity") { Description = "Target sparsity in [0, 1): one value, or a comma list with one per layer", DefaultValueFactory = _ => "0.5" };
        var tokens = new Option<int>("--tokens") { Description = "Calibration tokens at most (the CHESS refactor's 64·1024)", DefaultValueFactory = _ => 65536 }
            .AtLeast(2, "must be a whole number, 2 or more");
        var window = new Option<int>("--window") { Description = "Longest document in tokens (longer ones are cut into windows; default, or 0: 2048 or the model's context if less)" }
            .AtLeast(0, "must be a whole number, 0 (the default) or 2 or more");
        var l2 = new Option<bool>("--chess-l2") { Description = "CHESS's original statistic: θ_i = √(τ / E[up_i²]) with importance act²·E[up²] (default: the refactor's θ_i = τ / E|up_i|)" };
        var output = new Option<string>("--output", "-o") { Description = "Thresholds file to write", Required = true };
        var threads = CommonOptions.Threads();
        var tokenizer = CommonOptions.Tokenizer();
        var cmd = new Command("calibrate", "Calibrate activation-sparsity thresholds (CATS, CHESS, CHESS+ or TEAL) on a text")
            { model, file, method, sparsity, tokens, window, l2, output, threads, tokenizer };
        cmd.SetAction(r => CliErrors.Guard(() =>
        {
            var methods = SparsityTargets.Methods(r.GetValue(method)!, "--method");
            if (methods.Length != 1) throw new ArgumentException("--method: give one method (cats, chess, chess+ or teal); `sieve sparsity sweep` takes several");
            var chosen = methods[0];
            if (r.GetValue(l2) && chosen is not (SparsityMethod.Chess or SparsityMethod.ChessPlus))
                throw new ArgumentException($"--chess-l2: only for chess and chess+, not {chosen.Name()}");
            if (r.GetValue(window) == 1) throw new ArgumentException("--window 1: a window needs at least 2 tokens");
            string path = r.GetValue(file)!;
            if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
            using var m = SieveModel.Load(r.GetValue(model)!, new SieveModelOptions { Threads = CommonOptions.ThreadCount(r, threads), TokenizerPath = r.GetValue(tokenizer) });
            var target = SparsityTargets.Parse(r.GetValue(sparsity)!, m.Config.LayerCount);
            int w = r.GetValue(window) > 0 ? r.GetValue(window) : 2048;
            if (w > m.Config.ContextLength)
            {
                if (r.GetValue(window) > 0) Console.Error.WriteLine($"notice: --window {w} is more than the model's context of {m.Config.ContextLength} tokens; using {m.Config.ContextLength}");
                w = m.Config.ContextLength;
            }
            var docs = CalibrationDocuments.FromFile(m.Tokenizer, path, w, r.GetValue(tokens));
            if (docs.Tokens < r.GetValue(tokens))
                Console.Error.WriteLine($"notice: {path} holds {docs.Tokens} tokens, fewer than --tokens {r.GetValue(tokens)}; calibrating on all of them");
            string modelName = PopArgs.ModelName(r.GetValue(model)!);
            Console.Error.WriteLine($"sparsity calibrate: {chosen.Name()}{(r.GetValue(l2) ? " (L2)" : "")} on {docs.Source}, {(chosen is SparsityMethod.Chess or SparsityMethod.ChessPlus ? 2 : 1)} passes");
            var clock = Stopwatch.StartNew();
            ActivationThresholds thresholds = null!;
            StderrConsole.Instance.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var bar = ctx.AddTask($"calibrating {chosen.Name()}", maxValue: 1.0);
                    thresholds = SparsityCalibrator.Calibrate(m.Transformer, m.Pool, docs, chosen, target, r.GetValue(l2), modelName, new Progress<double>(f => bar.Value = f));
                    bar.Value = 1.0;
                });
            string outPath = r.GetValue(output)!;
            ActivationThresholdsFile.Save(outPath, thresholds);
            Print(thresholds);
            Console.WriteLine($"wrote {outPath}");
            Console.Error.WriteLine($"sieve: calibrated {thresholds.LayerCount} layers on {docs.Tokens} tokens in {clock.Elapsed.TotalSeconds:F1} s");
            return 0;
        }));
        return cmd;
    }

    /// <summary>The thresholds per layer; CHESS's per-channel ones as their median and range.</summary>
    static void Print(ActivationThresholds t)
    {
        var sites = t.Method.Sites();
        var table = new Table().AddColumn("layer").AddColumn("target");
        foreach (var s in sites) table.AddColumn(s == SparseSite.Gate && t.Method is SparsityMethod.Chess or SparsityMethod.ChessPlus ? "gate θ_i median [[min, max]]" : ActivationThresholdsFile.Key(s));
        for (int l = 0; l < t.LayerCount; l++)
        {
            var lt = t.Layers[l];
            var cells = new List<string> { l.ToString(), $"{t.TargetSparsity[l]:0.###}" };
            foreach (var s in sites)
            {
                if (s == SparseSite.Gate && lt.GateChannels is { } g)
                {
                    var finite = g.Where(v => v < float.MaxValue).Order().ToArray();
                    int dropped = g.Length - finite.Length;
                    cells.Add(finite.Length == 0 ? "all dropped" : $"{G(finite[finite.Length / 2])} [{G(finite[0])}, {G(finite[^1])}]" + (dropped > 0 ? $" ({dropped} always dropped)" : ""));
                }
                else cells.Add(G(lt.Scalar(s)));
            }
            table.AddRow(cells.Select(Markup.Escape).ToArray());
        }
        AnsiConsole.Write(table);
    }

    static string G(float v) => v.ToString("G4", System.Globalization.CultureInfo.InvariantCulture);
}
