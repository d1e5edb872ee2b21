using System.CommandLine;
using Sieve.Eval.Tasks;
using Sieve.Models;
using Sieve.Pruning;

namespace Sieve.Cli.Commands;

/// <summary><c>sieve prune run</c> (strategies compared on a task) and <c>sieve prune apply</c> (write a pruned GGUF).</summary>
static class PruneCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var task = new Option<string>("--task") { Description = "Task file (any eval layout; read through lettered options)", Required = true };
        var format = new Option<string>("--format") { Description = "Task layout, or auto", DefaultValueFactory = _ => "auto" };
        var render = CommonOptions.Render();
        var limit = new Option<int>("--limit") { Description = "Use only the first N samples (0 = all)" };
        var steps = new Option<int>("--steps", "-k") { Description = "Layers to remove (default: half of them)" };
        var score = new Option<string>("--score") { Description = "Iterative Pruning criterion: accuracy, margin or nll (SLEB)", DefaultValueFactory = _ => "accuracy" };
        var calib = new Option<string?>("--calibration") { Description = "Text file for the NLL criterion and the NLL column (default with --score nll: the task's gold answers)" };
        var calibTokens = new Option<int>("--calib-tokens") { Description = "Tokens per calibration window", DefaultValueFactory = _ => 2048 }.AtLeast(2, "a window needs at least 2 tokens (one predicted from the other)");
        var calibWindows = new Option<int>("--calib-windows") { Description = "Calibration windows (random starts, seeded)", DefaultValueFactory = _ => 128 }.AtLeast(1, "must be 1 or more");
        var seed = new Option<int>("--seed") { Description = "Seed for the calibration windows", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "Output folder", DefaultValueFactory = _ => "out/pruning" };
        var threads = CommonOptions.Threads();
        var tokenizer = CommonOptions.Tokenizer();
        var run = new Command("run", "Remove layers one at a time by several strategies and record accuracy, margin and the transition layer")
            { model, task, format, render, limit, steps, score, calib, calibTokens, calibWindows, seed, output, threads, tokenizer };
        run.SetAction(r => CliErrors.Guard(() =>
        {
            using var m = SieveModel.Load(r.GetValue(model)!, new SieveModelOptions { Threads = CommonOptions.ThreadCount(r, threads), TokenizerPath = r.GetValue(tokenizer) });
            var runner = m.CreateRunner();
            string taskPath = r.GetValue(task)!;
            var rendering = CommonOptions.ParseRender(r.GetValue(render)!, taskPath, r.GetValue(format)!, letteredByDefault: true);
            var samples = McqTask.Load(taskPath, r.GetValue(format)!, r.GetValue(limit), rendering);
            if (samples.Select(s => s.Choices.Count).Distinct().Count() != 1) throw new ArgumentException("pruning analysis needs the same number of options in every sample");
            var criterion = PruningCriterionNames.Parse(r.GetValue(score)!);
            int L = m.Config.LayerCount;
            if (L < 3) throw new ArgumentException($"the model has {L} layers; pruning keeps the first and last, so there is nothing to remove");
            int k = r.GetValue(steps) > 0 ? Math.Min(r.GetValue(steps), L - 2) : Math.Max(1, L / 2);
            if (r.GetValue(steps) > L - 2)
                Console.Error.WriteLine($"sieve: --steps {r.GetValue(steps)} is more than the {L - 2} layers that can be removed (the first and last stay); removing {L - 2}");
            int windowTokens = Math.Min(r.GetValue(calibTokens), m.Config.ContextLength);
            var calibration = r.GetValue(calib) is string text ? CalibrationSet.FromText(m.Tokenizer, text, windowTokens, r.GetValue(calibWindows), r.GetValue(seed))
                : criterion == PruningCriterion.Nll ? CalibrationSet.FromTask(m.Tokenizer, samples, windowTokens) : null;

            var clock = System.Diagnostics.Stopwatch.StartNew();
            var pruner = new IterativePruning(runner, m.Tokenizer, samples, calibration);
            var (dense, _) = pruner.Evaluate([]);
            // The same left cut as the probe's, so no pass runs past the model's context.
            int contextLength = m.Config.ContextLength;
            var prompts = samples.Select(s => m.Tokenizer.Encode(s.Context)).Select(p => p.Length > contextLength ? p[^contextLength..] : p).ToList();
            var bi = BlockInfluence.Measure(runner, prompts);
            var angular = AngularDistance.Measure(runner, prompts);
            var curves = new Dictionary<string, List<PruningStep>>
            {
                [$"iterative (greedy, {criterion.ToString().ToLowerInvariant()})"] = pruner.Greedy(k, criterion),
                ["block influence (ShortGPT, one-shot)"] = pruner.InOrder(Enumerable.Range(0, L).OrderBy(l => bi[l]), k),
                ["block influence, recomputed after each removal"] = pruner.ByRecomputedImportance(plan => BlockInfluence.Measure(runner, prompts, plan), k),
                ["angular distance (Gromov, best contiguous block)"] = pruner.BySets(angular.BestBlock, Math.Min(k, L - 1)),
                ["drop the last k (before the final block)"] = pruner.InOrder(Enumerable.Range(0, L - 1).Reverse(), k),
            };
            if (dense.TransitionLayer is int t && t >= 1)
            {
                // Silent vs Decisive: k contiguous blocks just before the transition layer versus just after it.
                // Layer numbers are read-out positions (0 = embedding), so block t−1 produces read-out layer t.
                curves["silent phase (blocks before the transition)"] = pruner.InOrder(Enumerable.Range(0, t - 1).Reverse(), k);
                curves["decisive phase (blocks from the transition)"] = pruner.InOrder(Enumerable.Range(t - 1, L - t + 1), k);
            }
            string dir = r.GetValue(output)!;
            var (json, md) = PruningReport.Write(dir, Path.GetFileName(r.GetValue(model)!.TrimEnd('/')), Path.GetFileName(taskPath),
                samples.Count, dense.TransitionLayer, curves, clock.Elapsed.TotalSeconds, new Dictionary<string, object?>
                {
                    ["score"] = criterion.Describe(),
                    ["rendering"] = rendering.ToString().ToLowerInvariant(),
                    ["calibration"] = calibration?.Source,
                    ["forward_passes"] = pruner.ForwardPasses,
                });
            Sieve.Analysis.DecisionPlots.Pruning(curves, 1.0 / samples[0].Choices.Count, dense.TransitionLayer, L, "Accuracy vs layers removed", Path.Combine(dir, "pruning.png"));
            File.AppendAllText(md, "\n![Accuracy vs layers removed](pruning.png)\n");
            Console.WriteLine($"summary: {md}");
            Console.WriteLine($"data:    {json}");
            Console.WriteLine($"plot:    {Path.Combine(dir, "pruning.png")}");
            if (Sieve.Eval.McqScorer.TruncationNote(pruner.TruncatedSamples, samples.Count, m.Config.ContextLength) is string note) Console.Error.WriteLine(note);
            Console.Error.WriteLine($"sieve: {pruner.ForwardPasses} forward passes in {clock.Elapsed.TotalSeconds:F1} s");
            return 0;
        }));

        var applyModel = CommonOptions.Model();
        var drop = new Option<string>("--drop") { Description = "Layers to remove, comma-separated (0-based)", Required = true };
        var outFile = new Option<string>("--output", "-o") { Description = "Destination .gguf", Required = true };
        var applyTok = CommonOptions.Tokenizer();
        var apply = new Command("apply", "Write the model with the given layers removed as a GGUF") { applyModel, drop, outFile, applyTok };
        apply.SetAction(r => CliErrors.Guard(() =>
        {
            var layers = r.GetValue(drop)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, out var v) ? v : throw new ArgumentException($"--drop: '{s}' is not a layer number")).ToHashSet();
            using var m = SieveModel.Load(r.GetValue(applyModel)!, new SieveModelOptions { Threads = 1, TokenizerPath = r.GetValue(applyTok), MaxBatch = 1 });
            PrunedModelWriter.Write(m, layers, r.GetValue(outFile)!);
            Console.Error.WriteLine($"wrote {r.GetValue(outFile)} ({m.Config.LayerCount - layers.Count} of {m.Config.LayerCount} layers)");
            return 0;
        }));
        return new Command("prune", "Layer pruning: compare strategies, write pruned models") { run, apply };
    }
}
