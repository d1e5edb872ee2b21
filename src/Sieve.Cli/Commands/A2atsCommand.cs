using System.CommandLine;
using System.Diagnostics;
using System.Security.Cryptography;
using Sieve.A2ats;
using Sieve.Cache.A2ats;
using Sieve.Sparsity;
using Spectre.Console;

namespace Sieve.Cli.Commands;

/// <summary><c>sieve a2ats calibrate</c>: A²ATS's query-aware codebooks for a model, written as a GGUF sidecar for <c>--codebooks</c>.</summary>
static class A2atsCommand
{
    public static Command Create() => new("a2ats", "A²ATS (windowed RoPE, query-aware VQ of keys): fit the codebooks --kv a2ats scores with")
    {
        Calibrate(),
    };

    static Command Calibrate()
    {
        var model = CommonOptions.Model();
        var file = new Option<string?>("--file", "-f") { Description = "Calibration text (the reference: fineweb-edu documents; blank lines separate documents), cut into windows of --window tokens" };
        var tokens = new Option<int>("--tokens") { Description = "Tokens of the text at most (the reference's 64K)", DefaultValueFactory = _ => 65536 }.AtLeast(0);
        var uuid = new Option<int>("--uuid-tokens") { Description = "Tokens of built-in random-UUID text added (the reference's 16K; 0: none)", DefaultValueFactory = _ => 16384 }.AtLeast(0);
        var window = new Option<int>("--window") { Description = "Longest document in tokens (the reference: 16K; capped at the model's context)", DefaultValueFactory = _ => 16384 }.AtLeast(2);
        var centroids = new Option<int>("--centroids") { Description = "Codes per (layer, KV head): 4096 = 12-bit codes", DefaultValueFactory = _ => 4096 }.AtLeast(2);
        var w = new Option<int>("--rope-window") { Description = "W, the distance every query is rotated to for ranking (windowed RoPE)", DefaultValueFactory = _ => A2atsCodebooks.DefaultWindow }.AtLeast(1);
        var iterations = new Option<int>("--iterations") { Description = "Lloyd iterations at most (the reference's 300; stops earlier at --tolerance)", DefaultValueFactory = _ => 300 }.AtLeast(0);
        var tolerance = new Option<double>("--tolerance") { Description = "Stop when an iteration lowers the objective by less than this fraction", DefaultValueFactory = _ => 1e-4 };
        var maxKeys = new Option<int>("--max-keys") { Description = "Keys per (layer, KV head) k-means runs on at most (a seeded sample; 0: all)", DefaultValueFactory = _ => 0 }.AtLeast(0);
        var plain = new Option<bool>("--plain") { Description = "Ablation: plain k-means on the keys (the metric H = I) instead of the query-aware fit" };
        var output = new Option<string>("--output", "-o") { Description = "Codebooks file to write (GGUF)", Required = true };
        var threads = CommonOptions.Threads();
        var tokenizer = CommonOptions.Tokenizer();
        var cmd = new Command("calibrate", "Fit A²ATS codebooks: pre-RoPE keys and R_W-rotated queries through hooks, H = E[q̃q̃ᵀ] per KV head, Cholesky, k-means on kᵀL")
            { model, file, tokens, uuid, window, centroids, w, iterations, tolerance, maxKeys, plain, output, threads, tokenizer };
        cmd.SetAction(r => CliErrors.Guard(() =>
        {
            string? text = r.GetValue(file);
            if (text == null && r.GetValue(uuid) == 0) throw new ArgumentException("nothing to calibrate on: give --file TEXT, or --uuid-tokens above 0");
            if (text != null && !File.Exists(text)) throw new FileNotFoundException($"{text}: file not found", text);
            if (!(r.GetValue(tolerance) >= 0)) throw new ArgumentException($"--tolerance {r.GetValue(tolerance)}: must be 0 or more");
            string path = r.GetValue(model)!;
            using var m = SieveModel.Load(path, new SieveModelOptions { Threads = CommonOptions.ThreadCount(r, threads), TokenizerPath = r.GetValue(tokenizer) });
            int win = Math.Min(r.GetValue(window), m.Config.ContextLength);
            var documents = new List<int[]>();
            string? sha = null;
            string source = "";
            if (text != null)
            {
                var docs = CalibrationDocuments.FromFile(m.Tokenizer, text, win, r.GetValue(tokens));
                documents.AddRange(docs.Documents);
                sha = docs.Sha256;
                source = docs.Source;
            }
            if (r.GetValue(uuid) > 0)
            {
                var ids = UuidText.Tokens(m.Tokenizer, r.GetValue(uuid));
                for (int at = 0; at < ids.Length; at += win) documents.Add(ids[at..Math.Min(ids.Length, at + win)]);
                source += (source.Length > 0 ? " + " : "") + $"{ids.Length} tokens of random UUIDs";
            }
            var settings = new A2atsCalibrationSettings
            {
                Centroids = r.GetValue(centroids), Window = r.GetValue(w), UuidTokens = r.GetValue(uuid),
                MaxIterations = r.GetValue(iterations), Tolerance = r.GetValue(tolerance), MaxKeys = r.GetValue(maxKeys),
                QueryAware = !r.GetValue(plain),
            };
            Console.Error.WriteLine($"a2ats calibrate{(settings.QueryAware ? "" : " (plain k-means)")}: {source}; K {settings.Centroids}, W {settings.Window}, {m.Config.LayerCount} layers × {m.Config.KvHeadCount} KV heads");
            var runner = m.CreateRunner(Math.Min(2048, documents.Max(d => d.Length)));
            var clock = Stopwatch.StartNew();
            A2atsCodebooks books = null!;
            StderrConsole.Instance.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var collect = ctx.AddTask("collecting keys and queries", maxValue: 1.0);
                    var fit = ctx.AddTask("fitting codebooks", maxValue: 1.0, autoStart: false);
                    books = A2atsCalibrator.Calibrate(runner, documents, settings, PopArgs.ModelName(path), m.Transformer.Fingerprint, sha,
                        new Progress<A2atsCalibrator.Progress>(p =>
                        {
                            if (p.Phase.StartsWith("collect")) collect.Value = p.Fraction;
                            else { collect.Value = 1; fit.StartTask(); fit.Value = p.Fraction; }
                        }));
                    collect.Value = 1; fit.Value = 1;
                });
            var (collectSeconds, fitSeconds) = A2atsCalibrator.Timing;
            string outPath = r.GetValue(output)!;
            A2atsCodebookFile.Write(outPath, books);
            Console.WriteLine($"wrote {outPath}: {books.LayerCount} × {books.KvHeadCount} codebooks of {books.Centroids} centroids, {new FileInfo(outPath).Length / 1048576.0:F1} MiB");
            Console.Error.WriteLine($"sieve: calibrated on {books.CalibrationTokens} tokens in {clock.Elapsed.TotalSeconds:F1} s (collect {collectSeconds:F1} s, fit {fitSeconds:F1} s)");
            return 0;
        }));
        return cmd;
    }
}
