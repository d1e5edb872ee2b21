using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Sieve.Eval.Tasks;
using Sieve.Models.Pop;
using Sieve.Pop;
using Spectre.Console;

namespace Sieve.Cli.Commands;

/// <summary>
/// <c>sieve pop eval</c>: for each number of skipped layers, POP vs POP without the boundary fix vs ShortGPT removal of
/// the same layers, against dense: perplexity and KL through the decode path, greedy agreement, task accuracy.
/// </summary>
static class PopEvalCommand
{
    public const string JsonName = "pop-eval.json";

    public static Command Create()
    {
        var model = CommonOptions.Model();
        var file = new Option<string>("--file", "-f") { Description = "Evaluation text (cut into windows of prompt-len + decode-len tokens)", Required = true };
        var task = new Option<string?>("--task") { Description = "Multiple-choice task file (as eval mcq reads it): accuracy per variant" };
        var format = new Option<string>("--format") { Description = "Task layout, or auto", DefaultValueFactory = _ => "auto" };
        var limit = new Option<int>("--limit") { Description = "Use only the first N task samples (0 = all)" };
        var counts = new Option<string?>("--layers") { Description = "Numbers of skipped layers to evaluate, as numbers and ranges (default 1 to layer count − 1)" };
        var promptLen = new Option<int>("--prompt-len") { Description = "Prompt tokens per window, ingested under the plan", DefaultValueFactory = _ => 512 }
            .AtLeast(2, "must be a whole number, 2 or more");
        var decodeLen = new Option<int>("--decode-len") { Description = "Continuation tokens per window, teacher-forced at decode depth (perplexity, KL)", DefaultValueFactory = _ => 64 }
            .AtLeast(1, "must be a whole number, 1 or more");
        var windows = new Option<int>("--windows") { Description = "Windows, consecutive from the text's start (0: every window the text holds)", DefaultValueFactory = _ => 8 }
            .AtLeast(0, "must be a whole number, 0 (every window) or more");
        var genTokens = new Option<int>("--gen-tokens") { Description = "Greedy tokens generated after the first window's prompt (agreement with dense)", DefaultValueFactory = _ => 200 }
            .AtLeast(1, "must be a whole number, 1 or more");
        var importance = new Option<string?>("--pop-importance") { Description = "The JSON of `sieve pop importance`: skip the s layers of lowest prefill importance instead of the last s" };
        var plans = new Option<string[]>("--pop-plan") { Description = "Also evaluate this plan file (from `sieve pop plan`) as a row \"plan\"; may be given more than once", AllowMultipleArgumentsPerToken = false };
        var output = new Option<string>("--output", "-o") { Description = $"Where to write the JSON", DefaultValueFactory = _ => Path.Combine("out", "pop", JsonName) };
        var json = new Option<bool>("--json") { Description = "Print the JSON on stdout instead of the table" };
        var threads = CommonOptions.Threads();
        var tokenizer = CommonOptions.Tokenizer();
        var cmd = new Command("eval", "POP vs POP without boundary vs ShortGPT removal, per number of skipped layers: perplexity, KL vs dense, greedy agreement, accuracy")
            { model, file, task, format, limit, counts, promptLen, decodeLen, windows, genTokens, importance, plans, output, json, threads, tokenizer };
        cmd.SetAction(r => CliErrors.Guard(() =>
        {
            string path = r.GetValue(file)!, modelPath = r.GetValue(model)!;
            if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
            string text = File.ReadAllText(path);
            if (string.IsNullOrWhiteSpace(text)) throw new ArgumentException($"{path}: the evaluation text is empty");
            using var m = SieveModel.Load(modelPath, new SieveModelOptions { Threads = CommonOptions.ThreadCount(r, threads), TokenizerPath = r.GetValue(tokenizer) });
            int L = m.Config.LayerCount;
            string modelName = PopArgs.ModelName(modelPath);
            var skips = ParseCounts(r.GetValue(counts), L);
            PrefillImportance? imp = null;
            if (r.GetValue(importance) is string impPath)
            {
                imp = PrefillImportance.Load(impPath);
                if (imp.LayerCount != L) throw new ArgumentException($"--pop-importance {impPath}: it lists {imp.LayerCount} layers; the model has {L}");
            }
            var extra = (r.GetValue(plans) ?? []).Select(p => PopPlanFile.Load(p, L, modelName, Console.Error.WriteLine)).ToList();
            List<McqSample>? samples = null;
            if (r.GetValue(task) is string taskPath)
            {
                var fmt = r.GetValue(format)!;
                samples = McqTask.Load(taskPath, fmt, r.GetValue(limit), CommonOptions.ParseRender("native", taskPath, fmt, letteredByDefault: false));
                if (samples.Count == 0) throw new ArgumentException($"--task {taskPath}: no samples");
            }
            var set = ImportanceWindows.FromText(m.Tokenizer, text, path, r.GetValue(promptLen), r.GetValue(decodeLen), r.GetValue(windows), m.Config.ContextLength);
            var clock = Stopwatch.StartNew();
            var eval = new PopEvaluation(m.CreateRunner(), m.Tokenizer, set, r.GetValue(genTokens), samples);
            var cases = new List<PopEvalCase>();
            foreach (int s in skips)
                cases.AddRange(PopEvalCase.Compare(imp != null ? PopPlan.LowestImportance(imp, s) : PopPlan.LastLayers(L, s)));
            foreach (var p in extra) cases.Add(new PopEvalCase("plan", p.SkippedLayers, p.Source, p.Apply()));
            Console.Error.WriteLine($"pop eval: {set.Windows.Count} windows × ({set.PromptLength} + {set.DecodeLength}) tokens, {eval.GenTokens} greedy tokens"
                + $"{(samples != null ? $", {samples.Count} task samples" : "")}; {cases.Count + 1} rows");
            var rows = new List<PopEvalRow> { PopEvalRow.From(eval.Dense()) };
            foreach (var c in cases)
            {
                rows.Add(PopEvalRow.From(eval.Measure(c)));
                Console.Error.WriteLine($"pop eval: {rows.Count - 1}/{cases.Count} ({c.Variant}, {c.Skipped} skipped), {clock.Elapsed.TotalSeconds:F1} s");
            }
            var report = new PopEvalReport(modelName, L, Path.GetFileName(path), ImportanceReport.HashText(text),
                r.GetValue(task) is string t ? Path.GetFileName(t) : null, samples?.Count ?? 0, r.GetValue(importance) is string ip ? Path.GetFileName(ip) : null,
                new PopEvalSettings(set.PromptLength, set.DecodeLength, set.Windows.Count, eval.GenTokens), eval.ForwardCalls,
                Math.Round(clock.Elapsed.TotalSeconds, 2), rows);
            var written = report.Write(r.GetValue(output)!);
            if (r.GetValue(json)) Console.WriteLine(report.ToJson());
            else
            {
                Print(report);
                Console.WriteLine($"data: {written}");
            }
            return 0;
        }));
        return cmd;
    }

    /// <summary>The numbers of skipped layers: default 1..L−1; each from 1 to L−1 (0 is the dense row, always reported).</summary>
    static int[] ParseCounts(string? text, int layers)
    {
        if (text == null) return [.. Enumerable.Range(1, layers - 1)];
        int[] list;
        try { list = LayerList.Parse(text, layers); }
        catch (ArgumentException e) { throw new ArgumentException($"--layers '{text}': {e.Message[(e.Message.IndexOf(": ", StringComparison.Ordinal) + 2)..].Replace("layer ", "").Replace("the model's layers", "the skip counts")} (numbers of skipped layers, 1 to {layers - 1})"); }
        if (list.Contains(0)) throw new ArgumentException($"--layers '{text}': 0 skipped layers is the dense row, always reported; give counts from 1 to {layers - 1}");
        return list;
    }

    static void Print(PopEvalReport report)
    {
        var t = new Table().AddColumns("skip", "variant", "layers", "ppl", "KL", "greedy", "forced", "acc");
        foreach (var row in report.Rows)
            t.AddRow(row.Skipped.ToString(), row.Variant, LayerList.Format(row.Layers), F(row.Perplexity, "F3"), F(row.Kl, "G3"),
                $"{row.GreedyAgreement * 100:F0}% @{row.FirstDivergence}", $"{row.TeacherForcedAgreement * 100:F0}%", row.Acc is double a ? F(a, "F3") : "-");
        t.Caption($"KL(dense ‖ variant) nats/row over {report.Settings.Windows}×{report.Settings.DecodeLength} decode rows; greedy: agreement over {report.Settings.GenTokens} tokens, @ first divergence; forced: dense's tokens teacher-forced, share the variant's argmax"
            + (report.Task != null ? $"; acc on {report.Task} ({report.TaskSamples})" : ""));
        AnsiConsole.Write(t);
    }

    static string F(double v, string fmt) => v.ToString(fmt, CultureInfo.InvariantCulture);
}
