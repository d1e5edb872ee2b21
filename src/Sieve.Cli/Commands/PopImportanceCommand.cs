using System.CommandLine;
using System.Diagnostics;
using Sieve.Pop;
using Spectre.Console;

namespace Sieve.Cli.Commands;

/// <summary>
/// <c>sieve pop importance</c>: POP's stage-wise layer importance from virtual gates, by forward passes only
/// (central differences in each gate, plus the gate-0 ablation), written as JSON and a PNG.
/// </summary>
static class PopImportanceCommand
{
    public const string JsonName = "pop-importance.json", PlotName = "pop-importance.png";

    public static Command Create()
    {
        var model = CommonOptions.Model();
        var file = new Option<string>("--file", "-f") { Description = "Calibration text (cut into windows of prompt-len + decode-len tokens)", Required = true };
        var promptLen = new Option<int>("--prompt-len") { Description = "Prompt tokens per window: the first prompt-len − 1 run as prefill rows", DefaultValueFactory = _ => 512 }
            .AtLeast(2, "must be a whole number, 2 or more (one prefill row and the boundary row)");
        var decodeLen = new Option<int>("--decode-len") { Description = "Decode positions per window: the loss is their mean next-token cross-entropy", DefaultValueFactory = _ => 64 }
            .AtLeast(1, "must be a whole number, 1 or more");
        var windows = new Option<int>("--windows") { Description = "Calibration windows, consecutive from the text's start (0: every window the text holds)", DefaultValueFactory = _ => 8 }
            .AtLeast(0, "must be a whole number, 0 (every window) or more");
        var epsilon = new Option<double>("--epsilon") { Description = "Gate step ε: gates run at 1 ± ε for the central differences", DefaultValueFactory = _ => 1e-2 }
            .Within(GateImportance.MinEpsilon, GateImportance.MaxEpsilon, rule: $"must be a number from {GateImportance.MinEpsilon} to {GateImportance.MaxEpsilon}");
        var seed = new Option<int>("--seed") { Description = "Seed for the targets sampled from the model (Fisher)", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print the importance file on stdout instead of the table" };
        var output = new Option<string>("--output", "-o") { Description = $"Folder for {JsonName} and {PlotName}", DefaultValueFactory = _ => "out/pop" };
        var threads = CommonOptions.Threads();
        var tokenizer = CommonOptions.Tokenizer();
        var cmd = new Command("importance", "Prefill vs decode importance of each layer from POP's virtual gates (Fisher, curvature, ablation)")
            { model, file, promptLen, decodeLen, windows, epsilon, seed, json, output, threads, tokenizer };
        cmd.SetAction(r => CliErrors.Guard(() =>
        {
            string path = r.GetValue(file)!;
            if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
            string text = File.ReadAllText(path);
            if (string.IsNullOrWhiteSpace(text)) throw new ArgumentException($"{path}: the calibration text is empty");
            using var m = SieveModel.Load(r.GetValue(model)!, new SieveModelOptions { Threads = CommonOptions.ThreadCount(r, threads), TokenizerPath = r.GetValue(tokenizer) });
            var set = ImportanceWindows.FromText(m.Tokenizer, text, path, r.GetValue(promptLen), r.GetValue(decodeLen), r.GetValue(windows), m.Config.ContextLength);
            int L = m.Config.LayerCount;
            Console.Error.WriteLine($"pop importance: {set.Windows.Count} of {set.Available} windows × ({set.PromptLength} + {set.DecodeLength}) tokens, "
                + $"{L} layers, {6 * L + 1} passes per window");
            var clock = Stopwatch.StartNew();
            var progress = new Progress(clock);
            var result = GateImportance.Measure(m.CreateRunner(), set, r.GetValue(epsilon), r.GetValue(seed), progress);
            progress.Finish();
            var report = new ImportanceReport(Path.GetFileName(r.GetValue(model)!.TrimEnd('/')), L, Path.GetFileName(path), ImportanceReport.HashText(text),
                new ImportanceSettings(set.PromptLength, set.DecodeLength, set.Windows.Count, set.Available, r.GetValue(epsilon), r.GetValue(seed)),
                new DenseLoss(result.DenseLoss.Sampled, result.DenseLoss.Text), result.ForwardPasses, Math.Round(clock.Elapsed.TotalSeconds, 2), result.Layers);
            string dir = r.GetValue(output)!;
            var jsonPath = report.Write(Path.Combine(dir, JsonName));
            var plotPath = ImportancePlot.Write(report, Path.Combine(dir, PlotName));
            if (r.GetValue(json)) Console.WriteLine(report.ToJson());
            else
            {
                Print(report);
                Console.WriteLine($"data: {jsonPath}");
                Console.WriteLine($"plot: {plotPath}");
            }
            Console.Error.WriteLine($"sieve: {result.ForwardPasses} forward calls in {clock.Elapsed.TotalSeconds:F1} s; wrote {jsonPath} and {plotPath}");
            return 0;
        }));
        return cmd;
    }

    static void Print(ImportanceReport report)
    {
        var t = new Table().AddColumns("layer", "I pre", "I dec", "ΔL pre", "ΔL dec", "∂²L pre", "∂²L dec");
        foreach (var l in report.Layers)
            t.AddRow(l.Layer.ToString(), G(l.Prefill.Fisher), G(l.Decode.Fisher), G(l.Prefill.Ablation), G(l.Decode.Ablation),
                G(l.Prefill.Curvature), G(l.Decode.Curvature));
        t.Caption($"I = ½E[[(∂L/∂g)²]] with sampled targets; ΔL = L(g=0) − L(1); dense loss {report.DenseLoss.Sampled:F4} (sampled), {report.DenseLoss.Text:F4} (text); text-target scores in the JSON");
        AnsiConsole.Write(t);
    }

    /// <summary>Three significant digits in at most 8 characters, so 7 columns fit an 80-column terminal.</summary>
    static string G(double v) => v.ToString(v != 0 && Math.Abs(v) < 1e-2 ? "0.00e0" : "G3", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>One progress line on stderr: rewritten in place on a terminal, one line per window otherwise.</summary>
    sealed class Progress(Stopwatch clock) : IProgress<ImportanceProgress>
    {
        bool _open;

        public void Report(ImportanceProgress p)
        {
            string line = $"pop importance: window {p.Window + 1}/{p.Windows}, pass {p.Pass}/{p.PassesPerWindow}, {clock.Elapsed.TotalSeconds:F1} s";
            if (!Console.IsErrorRedirected) { Console.Error.Write("\r" + line + "   "); _open = true; }
            else if (p.Pass == p.PassesPerWindow) Console.Error.WriteLine(line);
        }

        public void Finish()
        {
            if (_open) Console.Error.WriteLine();
            _open = false;
        }
    }
}
