using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Text.Json;
using Sieve.Cache;
using Sieve.Models;

namespace Sieve.Cli.Commands;

/// <summary>
/// Times of one <c>sieve bench --batch</c> point: B sequences, each prefilled with <see cref="Prompt"/> tokens and
/// then decoded <see cref="Gen"/> tokens, all B together; one entry per repetition.
/// </summary>
/// <param name="StepRows">Rows one forward step may carry (the runner's MaxTokens; llama.cpp's -ub).</param>
/// <param name="PrefillSteps">Forward steps the prefill of all B prompts took in one repetition.</param>
/// <param name="KvBytes">The B caches together, full.</param>
sealed record BatchedTiming(int Parallel, int Prompt, int Gen, int StepRows, int PrefillSteps, double[] PrefillSeconds, double[] DecodeSeconds, long KvBytes)
{
    /// <summary>Positions each sequence held before its prompt (-d).</summary>
    public int Depth { get; init; }
    /// <summary>The B caches' rows in an offloaded tier (files), not in <see cref="KvBytes"/>.</summary>
    public long OffloadedBytes { get; init; }
    /// <summary>Bytes the B caches read back from their offloaded tiers per timed decode step (all sequences together).</summary>
    public double OffloadReadBytesPerStep { get; init; }

    /// <summary>llama-batched-bench's N_KV: positions held by all sequences at the end (B × (depth + PP + TG)).</summary>
    public long NKv => (long)Parallel * (Depth + Prompt + Gen);

    /// <summary>Aggregate prefill tokens/s of each repetition: B × PP / T_PP.</summary>
    public double[] PrefillSpeeds => Speeds((long)Parallel * Prompt, PrefillSeconds);

    /// <summary>Aggregate decode tokens/s of each repetition: B × TG / T_TG.</summary>
    public double[] DecodeSpeeds => Speeds((long)Parallel * Gen, DecodeSeconds);

    /// <summary>All positions run over the whole time of each repetition: B × (PP + TG) / (T_PP + T_TG) (N_KV / T without a depth).</summary>
    public double[] TotalSpeeds => Speeds((long)Parallel * (Prompt + Gen), PrefillSeconds.Zip(DecodeSeconds, (a, b) => a + b).ToArray());

    public double PrefillTime => PrefillSeconds.Average();
    public double DecodeTime => DecodeSeconds.Average();

    /// <summary>Milliseconds one decode step of B rows took, on average (0 without decode).</summary>
    public double StepMs => Gen > 0 ? DecodeTime * 1000 / Gen : 0;

    // A part with no tokens (-p 0 or -n 0) reports 0 t/s rather than 0/0.
    static double[] Speeds(long tokens, double[] seconds) => seconds.Select(t => tokens > 0 && t > 0 ? tokens / t : 0).ToArray();

    public static double Mean(double[] x) => x.Average();
    public static double StdDev(double[] x)
    {
        if (x.Length < 2) return 0;
        double m = x.Average();
        return Math.Sqrt(x.Sum(v => (v - m) * (v - m)) / (x.Length - 1));
    }
}

/// <summary>One printed row: what ran (model, weights, KV method, threads) and its timing.</summary>
sealed record BatchedResult(string Model, string Type, string Kv, string Budget, int Threads, BatchedTiming Timing);

/// <summary>
/// <c>sieve bench --batch B[,B…]</c>, llama-batched-bench's measurement (<c>-npp</c> = -p, <c>-ntg</c> = -n,
/// <c>-npl</c> = --batch, <c>is_pp_shared = 0</c>): B sequences with B different random prompts, prefilled together in
/// steps of at most the runner's MaxTokens rows, then decoded together, one forward step of B rows per token.
/// Aggregate tokens/s (all sequences together) is what a server gets from a batch: on a bandwidth-bound CPU the
/// weights are streamed once per step however many rows it carries.
/// </summary>
static class BatchedBench
{
    /// <summary>
    /// The most sequences one point may run: 4096. One decode step keeps B × vocab logits in one buffer (4096 ×
    /// 128256 floats = 2 GiB for Llama 3's vocabulary), so far beyond this a typo would end as an allocation failure.
    /// </summary>
    public const int MaxParallel = 4096;

    /// <summary>Rows per forward step unless B needs more: llama.cpp's default -ub 512.</summary>
    public const int DefaultStepRows = 512;

    /// <summary>The item of an --batch value that is not a sequence count, or null when all are.</summary>
    public static string? BadCount(string value)
    {
        return value.Split(',', StringSplitOptions.TrimEntries).FirstOrDefault(x => !int.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out int b) || b < 1 || b > MaxParallel);
    }

    /// <summary>The parse error of an --batch value, or null when it is a list of sequence counts.</summary>
    public static string? Error(string value) => BadCount(value) is not { } bad ? null
        : bad.Length == 0 && value.Trim().Length == 0 ? $"--batch '{value}': give one or more sequence counts (1,2,4)"
        : $"--batch {value}: '{bad}' is not a sequence count (a whole number from 1 to {MaxParallel})";

    /// <summary>--batch's counts (already validated by <see cref="Error"/> while parsing).</summary>
    public static int[] Parse(string value)
    {
        if (Error(value) is { } error) throw new ArgumentException(error);
        return value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>Rows the runner needs: a decode step of the largest B must fit one step.</summary>
    public static int StepRows(int[] parallel) => Math.Max(DefaultStepRows, parallel.Max());

    /// <summary>
    /// Every sequence holds p + n positions, so they must fit the model's context; and all the B caches, the step
    /// scratch and the B logit rows must fit in memory (estimated for dense caches, whose size is known up front),
    /// so that a large B ends as an error naming it rather than an allocation failure.
    /// </summary>
    public static void Check(ModelConfig c, KvCacheSpec spec, int[] parallel, int prompt, int gen, int stepRows, int depth = 0)
    {
        long positions = (long)depth + prompt + gen;
        if (positions > c.ContextLength)
            throw new ArgumentException($"{(depth > 0 ? $"-d {depth} " : "")}-p {prompt} -n {gen}: each sequence holds {positions} positions, more than the model's context of {c.ContextLength}");
        if (!spec.IsDense) return;
        int element = spec.Method == "dense-f16" ? 2 : 4;
        int b = parallel.Max();
        double kv = (double)b * positions * c.LayerCount * c.KvDim * 2 * element;
        double scratch = (double)stepRows * (2.0 * c.Dim + 2.0 * c.QDim + 2.0 * c.KvDim + 2.0 * c.FfnDim) * 4 + (double)b * c.VocabSize * 4;
        double available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (kv + scratch > available)
            throw new ArgumentException($"--batch {b}: {b} sequences of {positions} positions need {(kv + scratch) / (1 << 30):F1} GiB for their {spec.Method} KV caches and the step buffers, more than the {available / (1 << 30):F1} GiB this process may use");
    }

    /// <summary>
    /// Times <paramref name="repetitions"/> runs of B sequences: prefill of B random prompts of
    /// <paramref name="prompt"/> tokens, packed into steps of at most the runner's MaxTokens rows (a sequence's chunk
    /// continues where its previous one ended; each prompt's last row gets logits), then <paramref name="gen"/> decode
    /// steps of B rows, each feeding every sequence the argmax of its own logits. The caches are emptied before each
    /// repetition and reused, as llama-batched-bench clears its KV cache. <paramref name="options"/> go with every
    /// timed segment (tests count rows through a hook).
    /// </summary>
    /// <param name="depth">Positions every sequence holds before its prompt (llama-bench's -d): one cache is filled
    /// (synthetically or by a prefill of random tokens), crosses the prefill/decode boundary once, and is copied into
    /// the others — the A²ATS reference's "one prompt expanded to batch size B" — so a 32K point does not code B
    /// prompts' keys B times. Each repetition truncates back to the depth.</param>
    public static BatchedTiming Measure(ForwardRunner runner, KvCacheSpec spec, int parallel, int prompt, int gen, int repetitions, ForwardOptions? options = null, int seed = 7,
        int depth = 0, bool synthetic = true)
    {
        if (parallel < 1 || parallel > runner.MaxTokens)
            throw new ArgumentException($"--batch {parallel}: a decode step of {parallel} rows needs a runner of at least that many rows (this one has {runner.MaxTokens})");
        if (prompt < 0 || gen < 0 || prompt + gen == 0) throw new ArgumentException($"-p {prompt} -n {gen}: nothing to measure");
        using var pass = new Pass(runner, spec, parallel, prompt, gen, seed, depth, synthetic);
        // Warm-up: the same code over the same caches, shortened. Without it the first repetition's prefill ran at a
        // third of the later ones' speed (stories260K, -p 8: JIT and first touches), and bench/batched.sh times one
        // repetition a process.
        pass.Run(Math.Min(prompt, WarmUpPrompt), Math.Min(gen, 2), null);
        pass.ReadBytes = 0;   // the warm-up's reads are not the timed steps'

        var prefillSeconds = new double[repetitions];
        var decodeSeconds = new double[repetitions];
        int prefillSteps = 0;
        for (int r = 0; r < repetitions; r++)
            (prefillSteps, prefillSeconds[r], decodeSeconds[r]) = pass.Run(prompt, gen, options);
        return new BatchedTiming(parallel, prompt, gen, runner.MaxTokens, prefillSteps, prefillSeconds, decodeSeconds, pass.KvBytes)
        {
            Depth = depth, OffloadedBytes = pass.OffloadedBytes, OffloadReadBytesPerStep = pass.ReadBytes / Math.Max(1.0, (double)repetitions * gen),
        };
    }

    /// <summary>Prompt tokens per sequence in the warm-up: enough for a multi-row step, a small share of a real prompt.</summary>
    const int WarmUpPrompt = 16;

    /// <summary>B sequences' caches, prompts and step buffers, reused by every repetition.</summary>
    sealed class Pass : IDisposable
    {
        readonly ForwardRunner _runner;
        readonly int _parallel, _depth;
        readonly int[][] _prompts;
        readonly int[] _first;      // with -p 0, decode starts from these
        readonly IKvCache[] _caches;
        readonly BatchSegment[] _segments;
        readonly int[] _slot;       // prefill segment → sequence
        readonly int[] _done;       // prompt tokens run, per sequence
        readonly int[] _next;       // the token each sequence decodes next

        public Pass(ForwardRunner runner, KvCacheSpec spec, int parallel, int prompt, int gen, int seed, int depth, bool synthetic)
        {
            _runner = runner; _parallel = parallel; _depth = depth;
            int vocab = runner.Config.VocabSize;
            var rng = new Random(seed);
            _prompts = Enumerable.Range(0, parallel).Select(_ => Enumerable.Range(0, prompt).Select(_ => rng.Next(vocab)).ToArray()).ToArray();
            _first = Enumerable.Range(0, parallel).Select(_ => rng.Next(vocab)).ToArray();
            _caches = Enumerable.Range(0, parallel).Select(_ => runner.CreateCache(spec, depth + prompt + gen + 1)).ToArray();
            if (depth > 0) Fill(synthetic, rng.Next(vocab));
            _segments = new BatchSegment[parallel];
            _slot = new int[parallel];
            _done = new int[parallel];
            _next = new int[parallel];
        }

        public long KvBytes => _caches.Sum(c => c.Memory.Bytes);
        public long OffloadedBytes => _caches.Sum(c => c.Memory.OffloadedBytes);

        /// <summary>File-tier bytes read during the timed decode steps so far.</summary>
        public long ReadBytes { get; set; }

        IEnumerable<Sieve.Cache.Storage.FileKvTier> FileTiers =>
            _caches.OfType<Sieve.Cache.Sparse.SparseKvCache>().Select(c => c.Tier).OfType<Sieve.Cache.Storage.FileKvTier>();

        public void Dispose()
        {
            foreach (var c in _caches) (c as IDisposable)?.Dispose();
        }

        /// <summary>The depth: fill the first cache, cross its boundary with one decode row, then copy it into the others.</summary>
        void Fill(bool synthetic, int token)
        {
            var first = _caches[0];
            if (synthetic) Sieve.Eval.KvBenchmark.FillSynthetic(_runner, first, _depth);
            else Sieve.Eval.KvBenchmark.FillPrefill(_runner, first, _depth);
            _runner.Decode(token, _depth, first);
            first.Truncate(_depth);
            for (int s = 1; s < _parallel; s++)
            {
                switch (_caches[s], first)
                {
                    case (Sieve.Cache.Sparse.SparseKvCache mine, Sieve.Cache.Sparse.SparseKvCache theirs): mine.CopyFrom(theirs); break;
                    case (DenseKvCache mine, DenseKvCache theirs): mine.CopyPrefixFrom(theirs, _depth); break;
                    default:
                        if (synthetic) Sieve.Eval.KvBenchmark.FillSynthetic(_runner, _caches[s], _depth);
                        else Sieve.Eval.KvBenchmark.FillPrefill(_runner, _caches[s], _depth);
                        break;
                }
            }
        }

        /// <summary>Empties the caches, prefills the first <paramref name="prompt"/> tokens of each prompt, decodes <paramref name="gen"/> steps.</summary>
        public (int PrefillSteps, double PrefillSeconds, double DecodeSeconds) Run(int prompt, int gen, ForwardOptions? options)
        {
            foreach (var c in _caches) c.Truncate(_depth);
            Array.Clear(_done);
            _first.CopyTo(_next, 0);
            int steps = 0;

            var clock = Stopwatch.StartNew();
            for (int from = 0; prompt > 0 && from < _parallel;)
            {
                int count = 0, room = _runner.MaxTokens;
                for (int s = from; s < _parallel && room > 0; s++)
                {
                    int take = Math.Min(prompt - _done[s], room);
                    bool last = _done[s] + take == prompt;
                    _segments[count] = BatchSegment.Prefill(_caches[s], _prompts[s].AsMemory(_done[s], take), _depth + _done[s], lastLogits: last, options);
                    _slot[count++] = s;
                    _done[s] += take;
                    room -= take;
                }
                _runner.Run(_segments.AsSpan(0, count));
                steps++;
                for (int i = 0; i < count; i++)
                    if (_done[_slot[i]] == prompt) _next[_slot[i]] = TensorPrimitives.IndexOfMax(_runner.Logits(i));
                while (from < _parallel && _done[from] == prompt) from++;
            }
            double prefill = clock.Elapsed.TotalSeconds;

            foreach (var t in FileTiers) t.ResetReadCounters();
            clock.Restart();
            for (int i = 0; i < gen; i++)
            {
                for (int s = 0; s < _parallel; s++)
                    _segments[s] = new BatchSegment(_caches[s], _next.AsMemory(s, 1), _depth + prompt + i, ForwardStage.Decode, 0, options);
                _runner.Run(_segments);
                for (int s = 0; s < _parallel; s++) _next[s] = TensorPrimitives.IndexOfMax(_runner.Logits(s));
            }
            double decode = clock.Elapsed.TotalSeconds;
            ReadBytes += FileTiers.Sum(t => t.BytesRead);
            return (steps, prefill, decode);
        }
    }

    /// <summary>llama-batched-bench's markdown table, with the spread over repetitions and the time per decode step added.</summary>
    public static void PrintTable(IReadOnlyList<BatchedResult> results, int repetitions)
    {
        foreach (var group in results.GroupBy(x => (x.Model, x.Type, x.Kv, x.Budget, x.Threads)))
        {
            var (model, type, kv, budget, threads) = group.Key;
            Console.WriteLine($"model {model}, weights {type}, kv {kv}{(budget.Length > 0 ? $" (budget {budget})" : "")}, threads {threads}, "
                + $"step rows {group.First().Timing.StepRows}, is_pp_shared 0, repetitions {repetitions} (mean; ± sd)");
            Console.WriteLine();
            Console.WriteLine($"|{"PP",6} | {"TG",6} | {"B",4} | {"N_KV",6} | {"T_PP s",8} | {"S_PP t/s",8} | {"T_TG s",8} | {"S_TG t/s",8} | {"T s",8} | {"S t/s",8} | {"± S_PP",8} | {"± S_TG",8} | {"ms/step",8} |");
            Console.WriteLine($"|{new string('-', 6)}-|-{new string('-', 6)}-|-{new string('-', 4)}-|-{new string('-', 6)}-|" + string.Concat(Enumerable.Repeat($"-{new string('-', 8)}-|", 9)));
            foreach (var x in group)
            {
                var t = x.Timing;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"|{t.Prompt,6} | {t.Gen,6} | {t.Parallel,4} | {t.NKv,6} | {t.PrefillTime,8:F3} | {BatchedTiming.Mean(t.PrefillSpeeds),8:F2} | {t.DecodeTime,8:F3} | "
                    + $"{BatchedTiming.Mean(t.DecodeSpeeds),8:F2} | {t.PrefillTime + t.DecodeTime,8:F3} | {BatchedTiming.Mean(t.TotalSpeeds),8:F2} | "
                    + $"{BatchedTiming.StdDev(t.PrefillSpeeds),8:F2} | {BatchedTiming.StdDev(t.DecodeSpeeds),8:F2} | {t.StepMs,8:F2} |"));
            }
            Console.WriteLine();
        }
    }

    /// <summary>
    /// A JSON array, one record per B: llama-bench's identity fields (model_filename, n_threads, n_prompt, n_gen, …)
    /// plus <c>n_parallel</c>, and llama-batched-bench's measured fields (n_kv, t_pp, speed_pp, t_tg, speed_tg, t, speed)
    /// with their spread and samples.
    /// </summary>
    public static void PrintJson(IReadOnlyList<BatchedResult> results)
    {
        var records = results.Select(x =>
        {
            var t = x.Timing;
            string kvType = x.Kv switch { "dense" => "f32", "dense-f16" => "f16", var k => k };
            return new Dictionary<string, object>
            {
                ["model_type"] = x.Model, ["model_filename"] = x.Model, ["weight_type"] = x.Type, ["type_k"] = kvType, ["type_v"] = kvType,
                ["kv"] = x.Kv, ["budget"] = x.Budget, ["n_threads"] = x.Threads, ["n_batch"] = t.StepRows, ["n_ubatch"] = t.StepRows,
                ["is_pp_shared"] = 0, ["n_prompt"] = t.Prompt, ["n_gen"] = t.Gen, ["n_depth"] = t.Depth, ["n_parallel"] = t.Parallel,
                ["n_kv"] = t.NKv, ["prefill_steps"] = t.PrefillSteps, ["repetitions"] = t.PrefillSeconds.Length,
                ["t_pp"] = t.PrefillTime, ["speed_pp"] = BatchedTiming.Mean(t.PrefillSpeeds), ["stddev_pp"] = BatchedTiming.StdDev(t.PrefillSpeeds), ["samples_pp"] = t.PrefillSpeeds,
                ["t_tg"] = t.DecodeTime, ["speed_tg"] = BatchedTiming.Mean(t.DecodeSpeeds), ["stddev_tg"] = BatchedTiming.StdDev(t.DecodeSpeeds), ["samples_tg"] = t.DecodeSpeeds,
                ["t"] = t.PrefillTime + t.DecodeTime, ["speed"] = BatchedTiming.Mean(t.TotalSpeeds),
                ["ms_per_step"] = t.StepMs, ["kv_bytes"] = t.KvBytes, ["kv_offloaded_bytes"] = t.OffloadedBytes, ["offload_read_bytes_per_step"] = t.OffloadReadBytesPerStep,
            };
        });
        Console.WriteLine(JsonSerializer.Serialize(records, new JsonSerializerOptions { WriteIndented = true }));
    }
}
