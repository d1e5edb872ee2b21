using System.CommandLine;
using System.Text.Json;
using Sieve.Eval.LongContext;
using Sieve.Models;
using Sieve.Tensors;
using Sieve.Threading;
using Sieve.Tokenization;
using Spectre.Console;

namespace Sieve.Cli.Commands;

/// <summary><c>sieve eval longctx</c>: RULER-style tasks, generated locally, across KV-cache methods and budgets.</summary>
static class LongContextCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model", "-m") { Description = "Model file or folder" };
        var shape = new Option<string?>("--shape") { Description = "Random-weight model of a named shape (the pipeline runs; its accuracy means nothing)" };
        var type = new Option<string>("--type") { Description = "Weight type for --shape", DefaultValueFactory = _ => "q8_0" };
        var tasks = new Option<string>("--tasks") { Description = $"Comma-separated: {string.Join(", ", LongContextTasks.Names)}", DefaultValueFactory = _ => string.Join(",", LongContextTasks.Names) };
        var ctx = CommonOptions.ContextSize("Target context in the model's tokens (default, or 0: the model's, at most 4096)");
        var samples = new Option<int>("--samples", "-n") { Description = "Samples per task", DefaultValueFactory = _ => 10 }.AtLeast(1);
        var seed = new Option<int>("--seed") { Description = "Seed of the task generators (RULER's is 42)", DefaultValueFactory = _ => 42 }.Within(int.MinValue, int.MaxValue);
        var json = new Option<bool>("--json") { Description = "Print the run record as JSON" };
        var output = new Option<string?>("--out") { Description = "Also write the run record (with every output) to this JSON file" };
        var threads = CommonOptions.Threads();
        var tokenizer = CommonOptions.Tokenizer();
        var kv = new KvArgs();
        var pop = new PopArgs();
        var sparsity = new SparsityArgs();
        kv.Kv.Description = "KV-cache methods, comma-separated";
        kv.Budget.Description = "Budgets, comma-separated (each method that takes one runs at each)";
        var cmd = new Command("longctx", "Long-context retrieval and aggregation tasks (passkey, RULER NIAH, VT, FWE) per KV-cache method and budget")
            { model, shape, type, tasks, ctx, samples, seed, json, output, threads, tokenizer };
        foreach (var o in kv.All) cmd.Options.Add(o);
        foreach (var o in pop.All) cmd.Options.Add(o);
        foreach (var o in sparsity.All) cmd.Options.Add(o);
        cmd.SetAction(r => CliErrors.Guard(() =>
        {
            string? path = r.GetValue(model), shapeName = r.GetValue(shape);
            if ((path == null) == (shapeName == null)) throw new ArgumentException("give exactly one of --model or --shape");
            using var pool = new WorkerPool(CommonOptions.ThreadCount(r, threads));
            int target = r.GetValue(ctx);
            ForwardRunner tf;
            TextTokenizer tok;
            string name;
            SieveModel? owned = null;
            if (shapeName != null)
            {
                var preset = ShapePreset.Get(shapeName);
                if (target <= 0) target = 4096;
                if (target > BenchCommand.MaxShapeContext) throw new ArgumentException($"-c {target}: a random-weight shape's context is at most {BenchCommand.MaxShapeContext}");
                var config = preset.ToConfig() with { ContextLength = Math.Max(preset.Context, target) };
                tf = new ForwardRunner(new Transformer(config, RandomWeights.Create(config, BenchCommand.ParseType(r.GetValue(type)!))), pool);
                tok = TokenizerFactory.FromGgufMetadata(SyntheticVocabulary.GgufMetadata(config.VocabSize), preset.Name);
                name = $"{preset.Name} (random weights)";
            }
            else
            {
                owned = SieveModel.Load(path!, new SieveModelOptions { TokenizerPath = r.GetValue(tokenizer) }, pool);
                tf = owned.CreateRunner();
                tok = owned.Tokenizer;
                name = Path.GetFileName(path!.TrimEnd('/'));
                if (target <= 0) target = Math.Min(4096, tf.Config.ContextLength);
            }
            using var _ = owned;
            if (target > tf.Config.ContextLength) throw new ArgumentException($"--ctx-size {target} exceeds the model's context of {tf.Config.ContextLength}");
            var sparse = sparsity.Read(r, tf.Model, shapeName ?? PopArgs.ModelName(path!));
            var forward = SparsityArgs.Compose(pop.Forward(r, tf.Config.LayerCount, shapeName ?? PopArgs.ModelName(path!)), sparse);
            var taskNames = r.GetValue(tasks)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var methods = r.GetValue(kv.Kv)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var budgets = r.GetValue(kv.Budget)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var specs = methods.SelectMany(m => Sieve.Cache.KvCacheSpec.Parse(m).IsDense ? [kv.Read(r, m, budgets[0])] : budgets.Select(b => kv.Read(r, m, kv.BudgetFor(r, m, b)))).ToList();
            int n = r.GetValue(samples);

            var generated = taskNames.ToDictionary(t => t, t => LongContextTasks.Generate(t, tok, target, n, r.GetValue(seed)));
            var results = new List<LongContextResult>();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            StderrConsole.Instance.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(p =>
                {
                    var bar = p.AddTask($"longctx {target} tokens", maxValue: taskNames.Length * specs.Count);
                    foreach (var spec in specs)
                        foreach (var t in taskNames)
                        {
                            bar.Description = $"{t} · {spec}";
                            results.Add(LongContextRunner.Run(tf, tok, generated[t], spec, target, options: forward));
                            bar.Increment(1);
                        }
                });
            var record = Record(name, target, n, r.GetValue(seed), results, clock.Elapsed.TotalSeconds, withOutputs: false);
            if (sparse != null) record["sparsity"] = SparsityArgs.Json(sparse);
            if (r.GetValue(output) is string file)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
                var full = Record(name, target, n, r.GetValue(seed), results, clock.Elapsed.TotalSeconds, withOutputs: true);
                if (sparse != null) full["sparsity"] = SparsityArgs.Json(sparse);
                File.WriteAllText(file, JsonSerializer.Serialize(full, Indented));
                Console.Error.WriteLine($"sieve: wrote {file}");
            }
            if (r.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(record, Indented));
            else PrintTable(results, taskNames, specs.Select(Label).ToList());
            sparsity.Report(r, sparse);
            return 0;
        }));
        return cmd;
    }

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    static string Label(Sieve.Cache.KvCacheSpec s) => s.IsDense ? s.Method : $"{s.Method} @ {s.Budget}";
    static string Label(LongContextResult r) => r.Budget == "" ? r.Kv : $"{r.Kv} @ {r.Budget}";

    static Dictionary<string, object?> Record(string model, int context, int samples, int seed, List<LongContextResult> results, double seconds, bool withOutputs) => new()
    {
        ["model"] = model, ["context"] = context, ["samples_per_task"] = samples, ["seed"] = seed, ["seconds"] = seconds,
        ["scoring"] = "RULER string_match_all ×100 (passkey: first integer equals the key ×100)",
        ["results"] = results.Select(x => new Dictionary<string, object?>
        {
            ["task"] = x.Task, ["kv"] = x.Kv, ["budget"] = x.Budget, ["score"] = x.Score, ["n_samples"] = x.Samples,
            ["seconds"] = x.Seconds, ["kv_bytes"] = x.KvBytes,
            ["prompt_tokens"] = x.Outputs.Count > 0 ? x.Outputs.Average(o => o.PromptTokens) : 0,
            ["question_tokens_decoded"] = x.Outputs.Count > 0 ? x.Outputs.Average(o => o.QuestionTokens) : 0,
            ["outputs"] = withOutputs ? x.Outputs.Select(o => new { index = o.Index, output = o.Output, score = o.Score }) : null,
        }).ToList(),
    };

    static void PrintTable(List<LongContextResult> results, string[] tasks, List<string> columns)
    {
        var table = new Table().AddColumn("task");
        foreach (var c in columns) table.AddColumn(c);
        foreach (var t in tasks)
            table.AddRow(new[] { t }.Concat(columns.Select(c => results.FirstOrDefault(x => x.Task == t && Label(x) == c) is { } x ? $"{x.Score:F1}" : "–")).ToArray());
        table.AddRow(new[] { "average" }.Concat(columns.Select(c => $"{results.Where(x => Label(x) == c).Average(x => x.Score):F1}")).ToArray());
        AnsiConsole.Write(table);
    }
}
