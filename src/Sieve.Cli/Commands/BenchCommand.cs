using System.CommandLine;
using System.Text.Json;
using Sieve.Eval;
using Sieve.Formats;
using Sieve.Formats.Conversion;
using Sieve.Tokenization;
using Sieve.Models;
using Sieve.Sparsity;
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
        var nPrompt = new Option<int>("--n-prompt", "-p") { Description = "Prompt tokens for the prefill test (0 skips it)", DefaultValueFactory = _ => 512 }.AtLeast(0);
        var nGen = new Option<int>("--n-gen", "-n") { Description = "Tokens for the generation test (0 skips it)", DefaultValueFactory = _ => 128 }.AtLeast(0);
        var threads = CommonOptions.Threads();
        var reps = new Option<int>("--repetitions", "-r") { Description = "Repetitions of each test", DefaultValueFactory = _ => 5 }.AtLeast(1);
        var json = new Option<bool>("--json") { Description = "Print a JSON array of records with llama-bench's field names" };
        var tokenizer = CommonOptions.Tokenizer();
        var save = new Option<string?>("--save") { Description = "With --shape: write the random model to this GGUF file (with a placeholder vocabulary) and exit" };
        var bandwidth = new Option<bool>("--bandwidth") { Description = "Also measure memory read bandwidth and report decode as a share of its bound" };
        var depth = new Option<string>("--n-depth", "-d") { Description = "Tokens already cached before each test, comma-separated (llama-bench's -d)", DefaultValueFactory = _ => "0" };
        depth.Validators.Add(v => { foreach (var t in v.Tokens) if (BadDepth(t.Value) is { } bad) v.AddError($"{v.IdentifierToken?.Value ?? "-d"} {t.Value}: '{bad}' is not a token count (a whole number, 0 or more)"); });
        var batch = new Option<string?>("--batch") { Description = "Parallel sequences, comma-separated (llama-batched-bench's -npl): each B prefills B prompts of -p tokens and decodes -n tokens for all B together; reports aggregate t/s and ms per step" };
        batch.Validators.Add(v => { foreach (var t in v.Tokens) if (BatchedBench.Error(t.Value) is { } error) v.AddError(error); });
        var fill = new Option<string>("--fill") { Description = "How the cache is filled to the depth: synthetic (default for --shape) or prefill (default for -m)" };
        var kv = new KvArgs();
        var pop = new PopArgs();
        var sparsity = new SparsityBench();
        kv.Kv.Description = "KV-cache methods, comma-separated: " + string.Join(", ", Sieve.Cache.KvCacheSpec.Methods);
        var cmd = new Command("bench", "Measure prefill (pp) and decode (tg) tokens per second") { model, shape, type, nPrompt, nGen, threads, reps, json, tokenizer, save, bandwidth, depth, fill, batch };
        foreach (var o in kv.All) cmd.Options.Add(o);
        foreach (var o in pop.All) cmd.Options.Add(o);
        foreach (var o in sparsity.All) cmd.Options.Add(o);
        cmd.SetAction(r => CliErrors.Guard(() =>
        {
            string? path = r.GetValue(model), shapeName = r.GetValue(shape);
            if ((path == null) == (shapeName == null)) throw new ArgumentException("give exactly one of --model or --shape");
            int t = CommonOptions.ThreadCount(r, threads), p = r.GetValue(nPrompt), n = r.GetValue(nGen), rep = r.GetValue(reps);
            if (p == 0 && n == 0) throw new ArgumentException("-p 0 -n 0: nothing to measure (give -p or -n a token count above 0)");
            var depths = Depths(r.GetValue(depth)!);
            int[]? parallel = r.GetValue(batch) is { } bs ? BatchedBench.Parse(bs) : null;
            if (parallel != null && depths.Length > 1) throw new ArgumentException("-d: one depth with --batch (every sequence holds it before its prompt)");
            if (parallel != null && r.GetValue(bandwidth)) throw new ArgumentException("--bandwidth: not available with --batch");
            if (parallel != null && (r.GetValue(sparsity.Method) != null || r.GetValue(sparsity.Args.File) != null))
                throw new ArgumentException("--sparsity-file / --sparsity-method: not available with --batch");
            var methods = r.GetValue(kv.Kv)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var budgets = r.GetValue(kv.Budget)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var batchSpecs = parallel == null ? [] : methods.SelectMany(m => (Sieve.Cache.KvCacheSpec.Parse(m).IsDense ? budgets.Take(1) : budgets).Select(b => kv.Read(r, m, kv.BudgetFor(r, m, b)))).ToList();
            using var pool = new WorkerPool(t);
            ForwardRunner tf;
            string name, typeName;
            IDisposable? owner = null;
            long fileBytes = 0;
            if (shapeName != null)
            {
                var preset = ShapePreset.Get(shapeName);
                var wtype = ParseType(r.GetValue(type)!);
                CheckDepths(depths, p, n, MaxShapeContext, $"a random-weight shape's context is at most {MaxShapeContext}");
                // The shape's published context (a saved gemma3-1b file says 32768, as the real one does), or more if the
                // requested depth needs it.
                var config = preset.ToConfig() with { ContextLength = (int)Math.Max(Math.Max(4096, preset.Context), depths.Max() + (long)p + n + 1) };
                // Before the weights are built: llama-8b takes a while to build, only to fail on the KV memory of a large B.
                if (parallel != null && r.GetValue(save) == null) foreach (var spec in batchSpecs) BatchedBench.Check(config, spec, parallel, p, n, BatchedBench.StepRows(parallel), depths[0]);
                Status($"building random {preset.Name} {wtype} weights");
                var weights = RandomWeights.Create(config, wtype);
                if (r.GetValue(save) is { } savePath)
                {
                    var checkpoint = new LoadedCheckpoint { Config = config, Weights = weights, Path = preset.Name, Format = "random" };
                    ModelConverter.ToGguf(checkpoint, SyntheticVocabulary.GgufMetadata(config.VocabSize), wtype, savePath);
                    Console.Error.WriteLine($"wrote {savePath} ({new FileInfo(savePath).Length:N0} bytes)");
                    return 0;
                }
                tf = new ForwardRunner(new Transformer(config, weights), pool, maxTokens: parallel != null ? BatchedBench.StepRows(parallel) : Math.Max(1, Math.Min(512, p)));
                name = preset.Name; typeName = TypeTraits.Of(wtype).Name;
            }
            else
            {
                var loaded = SieveModel.Load(path!, new SieveModelOptions { Threads = t, TokenizerPath = r.GetValue(tokenizer) }, pool);
                owner = loaded;
                tf = loaded.CreateRunner(parallel != null ? BatchedBench.StepRows(parallel) : 0);
                name = Path.GetFileName(path!.TrimEnd('/'));
                typeName = loaded.WeightTypeSummary;
                fileBytes = loaded.Checkpoint.FileBytes;
            }
            using var _ = owner;
            bool synthetic = (r.GetValue(fill) ?? (shapeName != null ? "synthetic" : "prefill")) switch
            {
                "synthetic" => true, "prefill" => false, var f => throw new ArgumentException($"--fill: '{f}' is not synthetic or prefill"),
            };
            // POP changes prefill only: pp runs the prompt under the plan (its last token at decode depth), tg the full model.
            var popPlan = pop.Read(r, tf.Config.LayerCount, shapeName ?? PopArgs.ModelName(path!));
            if (popPlan != null && parallel != null) throw new ArgumentException("--pop: not available with --batch");
            if (popPlan != null) Status($"{popPlan}; pp runs under it, tg runs every layer");
            // A²ATS on a random-weight shape: codebooks fitted to the synthetic keys, once, not timed.
            Sieve.Cache.A2ats.A2atsCodebooks? syntheticBooks = null;
            Sieve.Cache.KvCacheSpec Ready(Sieve.Cache.KvCacheSpec spec)
            {
                if (spec.Method != "a2ats" || spec.Codebooks != null) return spec;
                if (shapeName == null) throw new ArgumentException("--kv a2ats needs --codebooks FILE for a model file (make one with `sieve a2ats calibrate`)");
                if (syntheticBooks == null)
                {
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    syntheticBooks = Sieve.A2ats.SyntheticCodebooks.Fit(tf);
                    Status($"a2ats: {syntheticBooks.LayerCount}×{syntheticBooks.KvHeadCount} codebooks of {syntheticBooks.Centroids} synthetic keys "
                        + $"({syntheticBooks.Bytes / 1048576.0:F0} MiB) in {clock.Elapsed.TotalSeconds:F1} s, not timed");
                }
                return spec with { Codebooks = syntheticBooks };
            }
            batchSpecs = batchSpecs.Select(Ready).ToList();
            if (parallel != null) return Batched(tf, batchSpecs, name, typeName, parallel, p, n, rep, r.GetValue(json), depths[0], synthetic);
            CheckDepths(depths, p, n, tf.Config.ContextLength, $"the model's context is {tf.Config.ContextLength}");
            // Activation sparsity: each set is paired with a dense row of the same test run beside it (dense first for
            // even sets, after for odd ones: ABBA), so each ratio comes from two neighbouring runs of one process.
            var sets = sparsity.Read(r, tf, shapeName ?? PopArgs.ModelName(path!), out double? calibrationSeconds);
            var sparseOf = new Dictionary<KvSpeedResult, SparseRow>(ReferenceEqualityComparer.Instance);
            var results = new List<KvSpeedResult>();
            foreach (var method in methods)
                foreach (var budget in Sieve.Cache.KvCacheSpec.Parse(method).IsDense ? budgets.Take(1) : budgets)
                    foreach (int d in depths)
                    {
                        var spec = Ready(kv.Read(r, method, kv.BudgetFor(r, method, budget)));
                        string at = d > 0 ? $" @ d{d}" : "";
                        if (p > 0)
                        {
                            KvSpeedResult Dense()
                            {
                                Status($"{spec}: pp{p}{at} × {rep}");
                                return KvBenchmark.Prefill(tf, spec, name, typeName, d, p, rep, synthetic, popPlan?.Apply());
                            }
                            if (sets.Count == 0) results.Add(Dense());
                            for (int i = 0; i < sets.Count; i++)
                            {
                                var set = sets[i];
                                KvSpeedResult Sparse()
                                {
                                    Status($"{spec}, {SparsityBench.Label(set)}: pp{p}{at} × {rep}");
                                    set.Stats.Reset();
                                    return KvBenchmark.Prefill(tf, spec, name, typeName, d, p, rep, synthetic, SparsityArgs.Compose(popPlan?.Apply(), set));
                                }
                                KvSpeedResult dx, x;
                                if (i % 2 == 0) { dx = Dense(); x = Sparse(); }
                                else { x = Sparse(); dx = Dense(); }
                                results.Add(dx);
                                results.Add(x);
                                sparseOf[x] = SparseRow.Of(set, tf, decodeTokens: 0) with { Pair = dx };
                            }
                        }
                        if (n > 0)
                        {
                            KvSpeedResult Dense()
                            {
                                Status($"{spec}: tg{n}{at} × {rep}");
                                return KvBenchmark.Decode(tf, spec, name, typeName, d, n, rep, synthetic);
                            }
                            if (sets.Count == 0) results.Add(Dense());
                            for (int i = 0; i < sets.Count; i++)
                            {
                                var set = sets[i];
                                KvSpeedResult Sparse()
                                {
                                    Status($"{spec}, {SparsityBench.Label(set)}: tg{n}{at} × {rep}");
                                    set.Stats.Reset();
                                    return KvBenchmark.Decode(tf, spec, name, typeName, d, n, rep, synthetic, set.Apply());
                                }
                                KvSpeedResult dx, x;
                                if (i % 2 == 0) { dx = Dense(); x = Sparse(); }
                                else { x = Sparse(); dx = Dense(); }
                                results.Add(dx);
                                results.Add(x);
                                sparseOf[x] = SparseRow.Of(set, tf, decodeTokens: (long)rep * n + 1) with { Pair = dx };   // + the warm-up step
                            }
                        }
                    }
            if (r.GetValue(json)) PrintJson(results, popPlan, sparseOf, calibrationSeconds); else PrintTable(results, sparseOf);
            foreach (var set in sets.Where(_ => r.GetValue(sparsity.Args.Verbose))) SparsityArgs.Report(set, perLayer: true);
            // Peak memory is read before the bandwidth probe allocates its 512 MiB buffer.
            var peak = ProcessMemory.PeakResidentBytes;
            Report(tf, results.Select(x => x.Speed).ToList(), fileBytes, peak, Math.Max(p, n), results.Max(x => x.KvBytes),
                r.GetValue(bandwidth) ? MemoryBandwidth.MeasureGBps(pool) : null);
            return 0;
        }));
        return cmd;
    }

    /// <summary>--batch: every KV method (and budget) × every B, printed as llama-batched-bench does; memory on stderr.</summary>
    static int Batched(ForwardRunner tf, List<Sieve.Cache.KvCacheSpec> specs, string name, string typeName, int[] parallel, int p, int n, int rep, bool json,
        int depth, bool synthetic)
    {
        foreach (var spec in specs) BatchedBench.Check(tf.Config, spec, parallel, p, n, tf.MaxTokens, depth);
        var results = new List<BatchedResult>();
        foreach (var spec in specs)
            foreach (int b in parallel)
            {
                Status($"{spec}: B {b}, {(depth > 0 ? $"depth {depth} + " : "")}pp{p} + tg{n} each × {rep}");
                var timing = BatchedBench.Measure(tf, spec, b, p, n, rep, depth: depth, synthetic: synthetic);
                results.Add(new BatchedResult(name, typeName, spec.Method, spec.IsDense ? "" : spec.Budget.ToString(), tf.Pool.ThreadCount, timing));
            }
        if (json) BatchedBench.PrintJson(results); else BatchedBench.PrintTable(results, rep);
        string MiB(long bytes) => $"{bytes / 1048576.0:F1} MiB";
        var largest = results.MaxBy(x => x.Timing.KvBytes)!.Timing;
        Status($"largest KV of the run {MiB(largest.KvBytes)} in RAM ({largest.Parallel} sequences × {MiB(largest.KvBytes / largest.Parallel)})"
            + (largest.OffloadedBytes > 0 ? $", {MiB(largest.OffloadedBytes)} offloaded, {MiB((long)largest.OffloadReadBytesPerStep)} read back per decode step" : "")
            + (ProcessMemory.PeakResidentBytes is { } peak ? $"; peak resident {MiB(peak)}" : ""));
        return 0;
    }

    /// <summary>Memory and bandwidth figures on stderr, so stdout stays a clean table or JSON.</summary>
    static void Report(ForwardRunner tf, List<SpeedResult> results, long fileBytes, long? peak, int positions, long largestKv, double? bandwidthGBps)
    {
        var w = tf.Weights;
        long perToken = w.Layers.Sum(l => l.Wq.ByteLength + l.Wk.ByteLength + l.Wv.ByteLength + l.Wo.ByteLength
            + l.Gate.ByteLength + l.Up.ByteLength + l.Down.ByteLength) + w.Output.ByteLength;
        long kv = largestKv;
        string MiB(long b) => $"{b / 1048576.0:F1} MiB";
        Console.Error.WriteLine($"bench: weights read per decoded token {MiB(perToken)}; largest KV cache of the run {MiB(kv)}");
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

    /// <summary>
    /// Positions a random-weight shape may be given for a depth: 2^20, eight times Llama 3.1's 128K. Its KV cache
    /// is allocated in full (llama-8b: 128 KiB a position in F32, 128 GiB at this bound), so the bound is there to
    /// turn a typo into an error rather than an allocation failure.
    /// </summary>
    public const int MaxShapeContext = 1 << 20;

    static int[] Depths(string s)
    {
        var depths = s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(x => int.TryParse(x, out var d) && d >= 0 ? d : throw new ArgumentException($"-d: '{x}' is not a token count")).ToArray();
        return depths.Length > 0 ? depths : [0];
    }

    static string? BadDepth(string s) => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .FirstOrDefault(x => !int.TryParse(x, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _));

    /// <summary>
    /// Each test at depth d fills d positions, then runs -p (or -n) more: d + max(p, n) + 1 must fit the context
    /// (the +1: decode reads one position past the last written). llama-bench would try to allocate the context
    /// and fail; here the error names the largest depth that fits.
    /// </summary>
    static void CheckDepths(int[] depths, int p, int n, int context, string why)
    {
        long deepest = depths.Max(), need = deepest + Math.Max(p, n) + 1;
        if (need <= context) return;
        long most = (long)context - Math.Max(p, n) - 1;
        throw new ArgumentException(most >= 0
            ? $"-d {deepest}: too deep for -p {p} -n {n}; {why}, so the deepest test is -d {most}"
            : $"-p {p} -n {n}: more tokens than fit ({why})");
    }

    public static GgmlType ParseType(string s) => s.ToLowerInvariant() switch
    {
        "f32" => GgmlType.F32, "f16" => GgmlType.F16, "bf16" => GgmlType.BF16, "q8_0" => GgmlType.Q8_0,
        "q4_0" => GgmlType.Q4_0, "q4_k" => GgmlType.Q4_K, "q6_k" => GgmlType.Q6_K,
        _ => throw new ArgumentException($"unknown type '{s}' (f32, f16, bf16, q8_0, q4_0, q4_k, q6_k)"),
    };

    static void PrintTable(List<KvSpeedResult> results, IReadOnlyDictionary<KvSpeedResult, SparseRow> sparseOf)
    {
        bool kv = results.Any(x => x.Kv != "dense" || x.Depth > 0);
        bool sparse = sparseOf.Count > 0;
        var table = new Table().AddColumns("model", "type", "threads", "test", "t/s");
        // measured: the lowest and highest site's sparsity (each site in --json and with --sparsity-verbose)
        if (sparse) table.AddColumns("sparsity", "× dense", "measured", "MiB/token");
        if (kv) table.AddColumns("kv", "budget", "attn ms/step", "KV MiB", "B/token/head");
        foreach (var x in results)
        {
            var r = x.Speed;
            var cells = new List<string> { r.Model, r.Type, r.Threads.ToString(), r.Test + (x.Depth > 0 ? $" @ d{x.Depth}" : ""), $"{r.Mean:F2} ± {r.StdDev:F2}" };
            if (sparse)
            {
                if (sparseOf.TryGetValue(x, out var s))
                    cells.AddRange([SparsityBench.Label(s.Set), DenseOf(results, sparseOf, x) is { } d ? $"{r.Mean / d.Speed.Mean:F2}" : "–",
                        s.Measured.Count == 0 ? "–" : $"{s.Measured.Values.Min() * 100:0}–{s.Measured.Values.Max() * 100:0}%", s.DecodeBytesPerToken is double b ? $"{b / 1048576.0:F1}" : "–"]);
                else cells.AddRange(["dense", "1.00", "–", r.NGen > 0 ? $"{sparseOf.Values.First().DenseBytesPerToken / 1048576.0:F1}" : "–"]);
            }
            if (kv) cells.AddRange([x.Kv, x.Budget, r.NGen > 0 ? $"{x.AttentionMs:F2}" : "–", $"{x.KvBytes / 1048576.0:F1}", $"{x.KvBytesPerTokenPerHead:F1}"]);
            table.AddRow(cells.ToArray());
        }
        AnsiConsole.Write(table);
    }

    /// <summary>The dense row a sparse row is compared with: the one run beside it, else the same test, cache method, budget and depth.</summary>
    static KvSpeedResult? DenseOf(List<KvSpeedResult> results, IReadOnlyDictionary<KvSpeedResult, SparseRow> sparseOf, KvSpeedResult x) =>
        sparseOf.TryGetValue(x, out var row) && row.Pair != null ? row.Pair : results.FirstOrDefault(d => !sparseOf.ContainsKey(d) && d.Speed.Test == x.Speed.Test && d.Kv == x.Kv && d.Budget == x.Budget && d.Depth == x.Depth);

    static void PrintJson(List<KvSpeedResult> results, Sieve.Models.Pop.PopPlan? pop, IReadOnlyDictionary<KvSpeedResult, SparseRow> sparseOf, double? calibrationSeconds)
    {
        var records = results.Select(x =>
        {
            var r = x.Speed;
            var record = new Dictionary<string, object>
            {
                ["model_type"] = r.Model, ["model_filename"] = r.Model, ["type_k"] = x.Kv == "dense" ? "f32" : x.Kv, ["type_v"] = x.Kv == "dense" ? "f32" : x.Kv,
                ["weight_type"] = r.Type, ["n_threads"] = r.Threads, ["n_prompt"] = r.NPrompt, ["n_gen"] = r.NGen, ["n_depth"] = x.Depth,
                ["avg_ts"] = r.Mean, ["stddev_ts"] = r.StdDev, ["samples_ts"] = r.Samples,
                ["avg_ns"] = r.Samples.Select(s => (r.NPrompt + r.NGen) / s * 1e9).Average(),
                ["kv"] = x.Kv, ["budget"] = x.Budget, ["depth"] = x.Depth, ["kv_bytes"] = x.KvBytes,
                ["kv_bytes_per_token_per_head"] = x.KvBytesPerTokenPerHead, ["attn_ms"] = x.AttentionMs,
            };
            // POP: the layers pp skipped (tg always runs every layer); absent without a plan.
            if (pop != null && r.NPrompt > 0)
            {
                record["pop_prefill_kv_only"] = pop.SkippedLayers;
                record["pop_boundary"] = pop.Boundary.ToString().ToLowerInvariant();
            }
            // Activation sparsity: the method, target and what the row measured; absent on dense rows of a dense run.
            if (sparseOf.TryGetValue(x, out var s))
            {
                var t = s.Set.Thresholds;
                record["sparsity_method"] = t.Method.Name();
                record["sparsity_target"] = t.TargetSparsity.Distinct().Count() == 1 ? t.TargetSparsity[0] : (object)t.TargetSparsity;
                record["sparsity_kernels"] = s.Set.SparseKernels ? "sparse" : "dense";
                record["sparsity_measured"] = s.Measured;
                if (s.DecodeBytesPerToken is double b) record["decode_weight_bytes_per_token"] = b;
                record["dense_weight_bytes_per_token"] = s.DenseBytesPerToken;
                record["input_major_bytes"] = s.Set.InputMajorBytes;
                if (DenseOf(results, sparseOf, x) is { } d) record["speedup_vs_dense"] = r.Mean / d.Speed.Mean;
                if (calibrationSeconds is double cs) record["sparsity_calibration_s"] = cs;
            }
            else if (sparseOf.Count > 0) record["sparsity_method"] = "none";
            return record;
        });
        Console.WriteLine(JsonSerializer.Serialize(records, new JsonSerializerOptions { WriteIndented = true }));
    }
}
