using System.CommandLine;
using System.Text.Json;
using Sieve.Eval;
using Sieve.Eval.Tasks;
using Sieve.Models;
using Spectre.Console;

namespace Sieve.Cli.Commands;

/// <summary><c>sieve eval mcq</c>: multiple-choice accuracy scored as lm-evaluation-harness scores it.</summary>
static class EvalCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var task = new Option<string>("--task") { Description = "Task file (JSONL or Parquet: generic {question, choices, answer}, MMLU, ARC, HellaSwag, PIQA, WinoGrande, BoolQ, OpenBookQA or SciQ layout). A prompt longer than the model's context is cut from the left, as lm-evaluation-harness does, with a note on stderr; a malformed record is refused", Required = true };
        var format = new Option<string>("--format") { Description = "Task layout, or auto", DefaultValueFactory = _ => "auto" };
        var render = new Option<string>("--render") { Description = CommonOptions.RenderHelp, DefaultValueFactory = _ => "native" };
        var limit = new Option<int>("--limit") { Description = "Use only the first N samples (0 = all)" };
        var threads = CommonOptions.Threads();
        var tokenizer = CommonOptions.Tokenizer();
        var json = new Option<bool>("--json") { Description = "Print the run record as JSON" };
        var shots = new Option<int>("--num-fewshot") { Description = "k-shot: prepend k solved examples (taken from --fewshot-file, or from the start of the task file and then not evaluated)" };
        var shotFile = new Option<string?>("--fewshot-file") { Description = "Where k-shot examples come from (e.g. MMLU's dev split)" };
        var pop = new PopArgs();
        var sparsity = new SparsityArgs();
        var mcq = new Command("mcq", "Multiple-choice accuracy (acc, acc_norm) from continuation log-likelihoods") { model, task, format, render, limit, threads, tokenizer, json, shots, shotFile };
        foreach (var o in pop.All) mcq.Options.Add(o);
        foreach (var o in sparsity.All) mcq.Options.Add(o);
        mcq.SetAction(r => CliErrors.Guard(() =>
        {
            using var m = SieveModel.Load(r.GetValue(model)!, new SieveModelOptions { Threads = CommonOptions.ThreadCount(r, threads), TokenizerPath = r.GetValue(tokenizer) });
            int k = Math.Max(0, r.GetValue(shots));
            string? shotPath = r.GetValue(shotFile);
            var rendering = CommonOptions.ParseRender(r.GetValue(render)!, r.GetValue(task)!, r.GetValue(format)!, letteredByDefault: false);
            var samples = McqTask.Load(r.GetValue(task)!, r.GetValue(format)!, r.GetValue(limit) > 0 && shotPath == null ? r.GetValue(limit) + k : r.GetValue(limit), rendering);
            var examples = k == 0 ? [] : shotPath != null ? McqTask.Load(shotPath, r.GetValue(format)!, k, rendering) : samples.Take(k).ToList();
            if (k > 0 && shotPath == null) samples = samples.Skip(k).ToList();
            if (k > 0 && (examples.Count < k || samples.Count == 0)) throw new ArgumentException($"not enough samples for {k}-shot");
            samples = samples.Select(s => McqTask.WithShots(s, examples)).ToList();
            var popPlan = pop.Read(r, m.Config.LayerCount, PopArgs.ModelName(r.GetValue(model)!));
            if (popPlan != null) Console.Error.WriteLine($"sieve: {popPlan}; context as prefill, continuations at decode depth");
            var sparse = sparsity.Read(r, m.Transformer, PopArgs.ModelName(r.GetValue(model)!));
            var scorer = new McqScorer(m.CreateRunner(), m.Tokenizer) { Forward = SparsityArgs.Compose(popPlan?.Apply(), sparse) };
            McqEvaluation result = null!;
            StderrConsole.Instance.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var bar = ctx.AddTask($"{Path.GetFileName(r.GetValue(task))}", maxValue: samples.Count);
                    result = McqEvaluation.Run(scorer, samples, Path.GetFileName(r.GetValue(model)!.TrimEnd('/')), Path.GetFileName(r.GetValue(task)!),
                        new Progress<int>(n => bar.Value = n));
                });
            if (Sieve.Eval.McqScorer.TruncationNote(scorer.TruncatedSamples, samples.Count, m.Config.ContextLength) is string note) Console.Error.WriteLine(note);
            if (r.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    model = result.Model, task = result.Task, n_samples = result.Samples, acc = result.Acc, acc_stderr = result.AccStderr,
                    acc_norm = result.AccNorm, acc_norm_stderr = result.AccNormStderr, seconds = result.Seconds,
                    pop = popPlan == null ? null : new { prefill_kv_only = popPlan.SkippedLayers, boundary = popPlan.Boundary.ToString().ToLowerInvariant() },
                    sparsity = SparsityArgs.Json(sparse),
                }, new JsonSerializerOptions { WriteIndented = true }));
            else
            {
                var table = new Table().AddColumns("task", "n", "acc", "acc_norm", "s/sample");
                table.AddRow(result.Task, result.Samples.ToString(), $"{result.Acc:F4} ± {result.AccStderr:F4}", $"{result.AccNorm:F4} ± {result.AccNormStderr:F4}", $"{result.Seconds / result.Samples:F3}");
                AnsiConsole.Write(table);
            }
            sparsity.Report(r, sparse);
            return 0;
        }));
        return new Command("eval", "Evaluate a model") { mcq, LongContextCommand.Create() };
    }
}
