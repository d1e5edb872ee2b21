using System.CommandLine;
using System.Text.Json;
using Sieve.Eval;
using Sieve.Models;
using Sieve.Tensors;
using Sieve.Threading;
using Spectre.Console;

namespace Sieve.Cli.Commands;

/// <summary><c>sieve bench</c>: prefill and decode tokens/s like llama-bench.</summary>
static class BenchCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model", "-m") { Description = "Model file or folder" };
        var shape = new Option<string?>("--shape") { Description = $"Random-weight model of a named shape: {string.Join(", ", ShapePreset.All.Select(s => s.Name))}" };
        var type = new Option<string>("--type") { Description = "Weight type for --shape: f32, f16, bf16, q8_0, q4_0, q4_k, q6_k", DefaultValueFactory = _ => "q8_0" };
        var nPrompt = new Option<int>("--n-prompt", "-p") { Description = "Prompt tokens for the prefill test (0 skips it)", DefaultValueFactory = _ => 512 };
        var nGen = new Option<int>("--n-gen", "-n") { Description = "Tokens for the generation test (0 skips it)", DefaultValueFactory = _ => 128 };
        var threads = CommonOptions.Threads();
        var reps = new Option<int>("--repetitions", "-r") { Description = "Repetitions of each test", DefaultValueFactory = _ => 5 };
        var json = new Option<bool>("--json") { Description = "Print a JSON array of records with llama-bench's field names" };
        var tokenizer = CommonOptions.Tokenizer();
        var cmd = new Command("bench", "Measure prefill (pp) and decode (tg) tokens per second") { model, shape, type, nPrompt, nGen, threads, reps, json, tokenizer };
        cmd.SetAction(r => CliErrors.Guard(() =>
        {
            string? path = r.GetValue(model), shapeName = r.GetValue(shape);
            if ((path == null) == (shapeName == null)) throw new ArgumentException("give exactly one of --model or --shape");
            int t = r.GetValue(threads), p = r.GetValue(nPrompt), n = r.GetValue(nGen), rep = Math.Max(1, r.GetValue(reps));
            using var pool = new WorkerPool(t);
            Transformer tf;
            string name, typeName;
            IDisposable? owner = null;
            if (shapeName != null)
            {
                var preset = ShapePreset.Get(shapeName);
                var wtype = ParseType(r.GetValue(type)!);
                var config = preset.ToConfig() with { ContextLength = Math.Max(4096, p + n) };
                Status($"building random {preset.Name} {wtype} weights");
                tf = new Transformer(config, RandomWeights.Create(config, wtype), pool, maxBatch: Math.Max(1, Math.Min(512, p)));
                name = preset.Name; typeName = TypeTraits.Of(wtype).Name;
            }
            else
            {
                var loaded = SieveModel.Load(path!, new SieveModelOptions { Threads = t, TokenizerPath = r.GetValue(tokenizer) }, pool);
                owner = loaded;
                tf = loaded.Transformer;
                name = Path.GetFileName(path!.TrimEnd('/'));
                typeName = loaded.WeightTypeSummary;
            }
            using var _ = owner;
            var results = new List<SpeedResult>();
            if (p > 0) { Status($"pp{p} × {rep}"); results.Add(SpeedBenchmark.Prefill(tf, name, typeName, p, rep)); }
            if (n > 0) { Status($"tg{n} × {rep}"); results.Add(SpeedBenchmark.Decode(tf, name, typeName, n, rep)); }
            if (r.GetValue(json)) PrintJson(results); else PrintTable(results);
            return 0;
        }));
        return cmd;
    }

    static void Status(string s) => Console.Error.WriteLine($"bench: {s}");

    public static GgmlType ParseType(string s) => s.ToLowerInvariant() switch
    {
        "f32" => GgmlType.F32, "f16" => GgmlType.F16, "bf16" => GgmlType.BF16, "q8_0" => GgmlType.Q8_0,
        "q4_0" => GgmlType.Q4_0, "q4_k" => GgmlType.Q4_K, "q6_k" => GgmlType.Q6_K,
        _ => throw new ArgumentException($"unknown type '{s}' (f32, f16, bf16, q8_0, q4_0, q4_k, q6_k)"),
    };

    static void PrintTable(List<SpeedResult> results)
    {
        var table = new Table().AddColumns("model", "type", "threads", "test", "t/s");
        foreach (var r in results)
            table.AddRow(r.Model, r.Type, r.Threads.ToString(), r.Test, $"{r.Mean:F2} ± {r.StdDev:F2}");
        AnsiConsole.Write(table);
    }

    static void PrintJson(List<SpeedResult> results)
    {
        var records = results.Select(r => new Dictionary<string, object>
        {
            ["model_type"] = r.Model, ["model_filename"] = r.Model, ["type_k"] = "f32", ["type_v"] = "f32",
            ["weight_type"] = r.Type, ["n_threads"] = r.Threads, ["n_prompt"] = r.NPrompt, ["n_gen"] = r.NGen,
            ["avg_ts"] = r.Mean, ["stddev_ts"] = r.StdDev, ["samples_ts"] = r.Samples,
            ["avg_ns"] = r.Samples.Select(s => (r.NPrompt + r.NGen) / s * 1e9).Average(),
        });
        Console.WriteLine(JsonSerializer.Serialize(records, new JsonSerializerOptions { WriteIndented = true }));
    }
}
