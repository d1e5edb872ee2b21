using System.CommandLine;
using System.Text.Json;
using Sieve.Eval;
using Sieve.Formats;
using Sieve.Formats.Conversion;
using Sieve.Tokenization;
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
        var save = new Option<string?>("--save") { Description = "With --shape: write the random model to this GGUF file (with a placeholder vocabulary) and exit" };
        var bandwidth = new Option<bool>("--bandwidth") { Description = "Also measure memory read bandwidth and report decode as a share of its bound" };
        var cmd = new Command("bench", "Measure prefill (pp) and decode (tg) tokens per second") { model, shape, type, nPrompt, nGen, threads, reps, json, tokenizer, save, bandwidth };
        cmd.SetAction(r => CliErrors.Guard(() =>
        {
            string? path = r.GetValue(model), shapeName = r.GetValue(shape);
            if ((path == null) == (shapeName == null)) throw new ArgumentException("give exactly one of --model or --shape");
            int t = r.GetValue(threads), p = r.GetValue(nPrompt), n = r.GetValue(nGen), rep = Math.Max(1, r.GetValue(reps));
            using var pool = new WorkerPool(t);
            Transformer tf;
            string name, typeName;
            IDisposable? owner = null;
            long fileBytes = 0;
            if (shapeName != null)
            {
                var preset = ShapePreset.Get(shapeName);
                var wtype = ParseType(r.GetValue(type)!);
                var config = preset.ToConfig() with { ContextLength = Math.Max(4096, p + n) };
                Status($"building random {preset.Name} {wtype} weights");
                var weights = RandomWeights.Create(config, wtype);
                if (r.GetValue(save) is { } savePath)
                {
                    var checkpoint = new LoadedCheckpoint { Config = config, Weights = weights, Path = preset.Name, Format = "random" };
                    ModelConverter.ToGguf(checkpoint, SyntheticVocabulary.GgufMetadata(config.VocabSize), wtype, savePath);
                    Console.Error.WriteLine($"wrote {savePath} ({new FileInfo(savePath).Length:N0} bytes)");
                    return 0;
                }
                tf = new Transformer(config, weights, pool, maxBatch: Math.Max(1, Math.Min(512, p)));
                name = preset.Name; typeName = TypeTraits.Of(wtype).Name;
            }
            else
            {
                var loaded = SieveModel.Load(path!, new SieveModelOptions { Threads = t, TokenizerPath = r.GetValue(tokenizer) }, pool);
                owner = loaded;
                tf = loaded.Transformer;
                name = Path.GetFileName(path!.TrimEnd('/'));
                typeName = loaded.WeightTypeSummary;
                fileBytes = loaded.Checkpoint.FileBytes;
            }
            using var _ = owner;
            var results = new List<SpeedResult>();
            if (p > 0) { Status($"pp{p} × {rep}"); results.Add(SpeedBenchmark.Prefill(tf, name, typeName, p, rep)); }
            if (n > 0) { Status($"tg{n} × {rep}"); results.Add(SpeedBenchmark.Decode(tf, name, typeName, n, rep)); }
            if (r.GetValue(json)) PrintJson(results); else PrintTable(results);
            // Peak memory is read before the bandwidth probe allocates its 512 MiB buffer.
            var peak = ProcessMemory.PeakResidentBytes;
            Report(tf, results, fileBytes, peak, Math.Max(p, n), r.GetValue(bandwidth) ? MemoryBandwidth.MeasureGBps(pool) : null);
            return 0;
        }));
        return cmd;
    }

    /// <summary>Memory and bandwidth figures on stderr, so stdout stays a clean table or JSON.</summary>
    static void Report(Transformer tf, List<SpeedResult> results, long fileBytes, long? peak, int positions, double? bandwidthGBps)
    {
        var w = tf.Weights;
        long perToken = w.Layers.Sum(l => l.Wq.ByteLength + l.Wk.ByteLength + l.Wv.ByteLength + l.Wo.ByteLength
            + l.Gate.ByteLength + l.Up.ByteLength + l.Down.ByteLength) + w.Output.ByteLength;
        long kv = 2L * tf.Config.LayerCount * positions * tf.Config.KvDim * sizeof(float);
        string MiB(long b) => $"{b / 1048576.0:F1} MiB";
        Console.Error.WriteLine($"bench: weights read per decoded token {MiB(perToken)}; KV cache for {positions} positions {MiB(kv)}");
        if (peak is { } pk)
            Console.Error.WriteLine(fileBytes > 0
                ? $"bench: peak resident {MiB(pk)} = {(double)pk / fileBytes:F2}× the file ({MiB(fileBytes)}); (peak − KV)/file = {(double)(pk - kv) / fileBytes:F2}"
                : $"bench: peak resident {MiB(pk)} (weights built in memory)");
        if (bandwidthGBps is { } bw && results.FirstOrDefault(x => x.NGen > 0) is { } tg)
        {
            double bound = bw * 1e9 / perToken;
            Console.Error.WriteLine($"bench: memory read bandwidth {bw:F1} GB/s (same run) → decode bound {bound:F1} t/s; tg{tg.NGen} reached {tg.Mean:F1} t/s = {tg.Mean / bound:P0} of it");
        }
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
