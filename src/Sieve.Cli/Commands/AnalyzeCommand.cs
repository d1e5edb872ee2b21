using System.CommandLine;
using Sieve.Analysis;
using Sieve.Eval.Tasks;
using Sieve.Models;

namespace Sieve.Cli.Commands;

/// <summary><c>sieve analyze decisions</c>: per-layer Decision Margin, Option Frequency and the phase transition.</summary>
static class AnalyzeCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var task = new Option<string>("--task") { Description = "Task file (JSONL or Parquet, any eval layout)", Required = true };
        var format = new Option<string>("--format") { Description = "Task layout, or auto", DefaultValueFactory = _ => "auto" };
        var render = CommonOptions.Render();
        var limit = new Option<int>("--limit") { Description = "Use only the first N samples (0 = all)" };
        var output = new Option<string>("--out") { Description = "Output folder for decisions.json and summary.md", DefaultValueFactory = _ => "out/decisions" };
        var threads = CommonOptions.Threads();
        var tokenizer = CommonOptions.Tokenizer();
        var decisions = new Command("decisions", "Read the model's decision at every layer (option logit lens)") { model, task, format, render, limit, output, threads, tokenizer };
        decisions.SetAction(r => CliErrors.Guard(() =>
        {
            using var m = SieveModel.Load(r.GetValue(model)!, new SieveModelOptions { Threads = CommonOptions.ThreadCount(r, threads), TokenizerPath = r.GetValue(tokenizer) });
            var rendering = CommonOptions.ParseRender(r.GetValue(render)!, r.GetValue(task)!, r.GetValue(format)!, letteredByDefault: false);
            var samples = McqTask.Load(r.GetValue(task)!, r.GetValue(format)!, r.GetValue(limit), rendering);
            if (samples.Select(s => s.Choices.Count).Distinct().Count() != 1) throw new ArgumentException("decision probes need the same number of options in every sample");
            var probe = new DecisionProbe(m.CreateRunner(), m.Tokenizer);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var read = samples.Select(s => probe.Probe(s)).ToList();
            double perSample = clock.Elapsed.TotalSeconds / samples.Count;
            if (Sieve.Eval.McqScorer.TruncationNote(probe.TruncatedSamples, samples.Count, m.Config.ContextLength) is string note) Console.Error.WriteLine(note);
            var labels = samples[0].OptionLabels ?? Enumerable.Range(1, samples[0].Choices.Count).Select(i => $"choice {i}").ToList();
            var curves = DecisionCurves.From(read, labels);
            var (json, md) = DecisionReport.Write(r.GetValue(output)!, Path.GetFileName(r.GetValue(model)!.TrimEnd('/')), Path.GetFileName(r.GetValue(task)!), samples.Count, curves, perSample, rendering);
            string dir = r.GetValue(output)!;
            DecisionPlots.Margin(curves, "Decision margin per layer", Path.Combine(dir, "margin.png"));
            DecisionPlots.OptionFrequency(curves, "Option frequency per layer", Path.Combine(dir, "option_frequency.png"));
            File.AppendAllText(md, "\n![Decision margin per layer](margin.png)\n\n![Option frequency per layer](option_frequency.png)\n");
            Console.WriteLine($"summary: {md}");
            Console.WriteLine($"data:    {json}");
            Console.WriteLine($"plots:   {Path.Combine(dir, "margin.png")} {Path.Combine(dir, "option_frequency.png")}");
            return 0;
        }));
        return new Command("analyze", "Analyses of a model's internals") { decisions };
    }
}
