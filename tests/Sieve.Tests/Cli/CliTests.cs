using System.Text.Json;

namespace Sieve.Tests.Cli;

public class CliTests
{
    static string Rel(string path) => Path.GetRelativePath(Fixtures.RepoRoot, path);

    [Fact]
    public void RunPrintsTheContinuationAloneOnStdout()
    {
        var r = CliRunner.Run(["run", "-m", Rel(Fixtures.Stories260KGguf), "-p", "Once upon a time", "-n", "24", "--temp", "0"]);
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith(", there was a little girl named Lily. She loved to play outside in the p", r.Stdout);
        Assert.Contains("t/s", r.Stderr);
        Assert.DoesNotContain("t/s", r.Stdout);
    }

    [Fact]
    public void AThreadCountAboveTheCpusIsClampedWithANoteAndGivesTheSameText()
    {
        // Issue 8: `-t 999` printed nothing in 120 s (999 spinning threads on 2 CPUs). Now the pool takes the CPUs
        // the process may use, says so, and the greedy text is the one-thread text.
        Assert.True(Environment.ProcessorCount < 999, "premise: 999 threads is more than this machine's CPUs");
        var one = CliRunner.Run(["run", "-m", Rel(Fixtures.Stories260KGguf), "-p", "Once upon a time", "-n", "100", "--temp", "0", "-t", "1"]);
        var many = CliRunner.Run(["run", "-m", Rel(Fixtures.Stories260KGguf), "-p", "Once upon a time", "-n", "100", "--temp", "0", "-t", "999"]);
        Assert.Equal(0, one.ExitCode);
        Assert.Equal(0, many.ExitCode);
        Assert.Equal(one.Stdout, many.Stdout);
        Assert.Contains($"-t 999 is more than the {Environment.ProcessorCount} CPUs this process may use; using {Environment.ProcessorCount}", many.Stderr);
        Assert.Contains($"{Environment.ProcessorCount} threads", many.Stderr);
    }

    [Fact]
    public void RunReproducesLlama2cSampledTextWithItsSampler()
    {
        var r = CliRunner.Run(["run", "-m", Rel(Fixtures.Stories260KBin), "-p", "There was a big", "-n", "40",
            "--sampler", "llama2c", "--temp", "1", "--top-p", "0.95", "--seed", "42", "--ignore-eos"]);
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith(" pretty grass. It was a long elephant.", r.Stdout);
    }

    [Fact]
    public void InfoAndRunWorkOnTheF16TinyRandomLlama()
    {
        var info = CliRunner.Run(["info", "-m", Rel(Fixtures.TinyRandomGguf)]);
        Assert.Equal(0, info.ExitCode);
        Assert.Contains("32000", info.Stdout);
        Assert.Contains("F16", info.Stdout);
        var run = CliRunner.Run(["run", "-m", Rel(Fixtures.TinyRandomGguf), "-p", "Hello", "-n", "8", "--seed", "1"]);
        Assert.Equal(0, run.ExitCode);
        Assert.False(string.IsNullOrWhiteSpace(run.Stdout));
    }

    public static IEnumerable<object[]> BadInputs() =>
    [
        [new[] { "run", "-m", "no/such/model.gguf", "-p", "x" }, "no/such/model.gguf", "not found"],
        [new[] { "info", "-m", "tests/fixtures/gpt2-fake-hf" }, "gpt2-fake-hf", "unsupported architecture 'gpt2'"],
        [new[] { "run", "-m", "tests/fixtures/llamacpp-vocab/ggml-vocab-llama-spm.gguf", "-p", "x" }, "ggml-vocab-llama-spm.gguf", ""],
        [new[] { "run", "-m", "models/stories260K/stories260K.gguf", "-p", string.Concat(Enumerable.Repeat("once upon a time ", 600)) }, "", "context"],
        [new[] { "bench", "--shape", "no-such-shape" }, "", "unknown shape"],
        [new[] { "run", "-m", "models/stories260K/stories260K.gguf", "-p", "x", "--top-p", "7" }, "", "--top-p"],
    ];

    [Theory, MemberData(nameof(BadInputs))]
    public void BadInputGivesExitCodeOneAndOneLineNamingTheProblem(string[] args, string mustName, string mustSay)
    {
        var r = CliRunner.Run(args);
        Assert.Equal(1, r.ExitCode);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(mustName, lines[0]);
        Assert.Contains(mustSay, lines[0]);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void TruncatedModelFileIsRefusedCleanly()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var path = Path.Combine(dir, "cut.gguf");
            var bytes = File.ReadAllBytes(Fixtures.Stories260KGguf);
            File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
            var r = CliRunner.Run(["run", "-m", path, "-p", "x"]);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("cut.gguf", r.Stderr);
            Assert.Contains("truncated", r.Stderr);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void BenchJsonHasLlamaBenchFields()
    {
        var r = CliRunner.Run(["bench", "--shape", "stories260k", "--type", "q8_0", "-p", "32", "-n", "8", "-r", "2", "-t", "2", "--json"]);
        Assert.Equal(0, r.ExitCode);
        var records = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal(2, records.GetArrayLength());
        var pp = records[0];
        Assert.Equal(32, pp.GetProperty("n_prompt").GetInt32());
        Assert.Equal(0, pp.GetProperty("n_gen").GetInt32());
        Assert.Equal(2, pp.GetProperty("n_threads").GetInt32());
        Assert.True(pp.GetProperty("avg_ts").GetDouble() > 0);
        Assert.True(pp.GetProperty("stddev_ts").GetDouble() >= 0);
        Assert.Equal(8, records[1].GetProperty("n_gen").GetInt32());
    }

    [Fact]
    public void ConvertWritesAQuantizedGgufThatRuns()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var path = Path.Combine(dir, "q8.gguf");
            var conv = CliRunner.Run(["convert", Rel(Fixtures.Stories260KBin), path, "--type", "q8_0"]);
            Assert.Equal(0, conv.ExitCode);
            Assert.Contains("ffn_down", conv.Stderr);   // the 172-wide rows stay F16, with a notice
            var run = CliRunner.Run(["run", "-m", path, "-p", "Once upon a time", "-n", "8", "--temp", "0"]);
            Assert.Equal(0, run.ExitCode);
            Assert.StartsWith(", there was a", run.Stdout);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ChatAnswersThroughTheTemplate()
    {
        var r = CliRunner.Run(["chat", "-m", Rel(Fixtures.Stories260KGguf), "-n", "16", "--temp", "0", "--template", "llama2"], stdin: "Once upon a time\n/exit\n");
        Assert.Equal(0, r.ExitCode);
        Assert.False(string.IsNullOrWhiteSpace(r.Stdout));
    }

    public static IEnumerable<object[]> InstructionSets() =>
    [
        ["all", new Dictionary<string, string>()],
        ["no AVX-512", new Dictionary<string, string> { ["DOTNET_EnableAVX512"] = "0" }],
        ["no AVX-VNNI", new Dictionary<string, string> { ["DOTNET_EnableAVXVNNI"] = "0" }],
        ["no AVX2", new Dictionary<string, string> { ["DOTNET_EnableAVX2"] = "0" }],
        ["no intrinsics", new Dictionary<string, string> { ["DOTNET_EnableHWIntrinsic"] = "0" }],
    ];

    /// <summary>Each instruction-set path, in a child process: kernels against scalar twins, then a real greedy run.</summary>
    [Theory, MemberData(nameof(InstructionSets))]
    public void EveryInstructionSetPathAgrees(string name, Dictionary<string, string> env)
    {
        var self = CliRunner.Run(["selftest"], env);
        Assert.True(self.ExitCode == 0, $"{name}: {self.Stdout}");
        var q8 = Path.Combine(Fixtures.Dir, "tiny-k-quants", "tiny-k-q8_0.gguf");
        var run = CliRunner.Run(["run", "-m", Rel(Fixtures.Stories260KGguf), "-p", "Once upon a time", "-n", "24", "--temp", "0", "-t", "2"], env);
        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith(", there was a little girl named Lily. She loved to play outside in the p", run.Stdout);
        var quant = CliRunner.Run(["run", "-m", Rel(q8), "-p", "Once upon a time", "-n", "8", "--temp", "0"], env);
        Assert.Equal(0, quant.ExitCode);
    }

    [Fact]
    public void EvalAndDecisionAnalysisRunOnTheShippedModelAndTask()
    {
        const string task = "models/stories260K/tasks/story-questions.jsonl";
        var eval = CliRunner.Run(["eval", "mcq", "-m", Rel(Fixtures.Stories260KGguf), "--task", task, "--json"]);
        Assert.Equal(0, eval.ExitCode);
        var record = JsonDocument.Parse(eval.Stdout).RootElement;
        Assert.Equal(12, record.GetProperty("n_samples").GetInt32());
        double acc = record.GetProperty("acc").GetDouble();

        var dir = Fixtures.TempDir();
        try
        {
            var r = CliRunner.Run(["analyze", "decisions", "-m", Rel(Fixtures.Stories260KGguf), "--task", task, "--out", dir]);
            Assert.Equal(0, r.ExitCode);
            var d = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "decisions.json"))).RootElement;
            Assert.Equal(12, d.GetProperty("n_samples").GetInt32());
            var layers = d.GetProperty("layers");
            Assert.Equal(6, layers.GetArrayLength());
            Assert.Equal(acc, layers[5].GetProperty("accuracy").GetDouble());   // the self-check of §1.2
            Assert.True(File.Exists(Path.Combine(dir, "summary.md")));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void WinograndeIsScoredByPartialContextsAndProbedThroughLetteredOptions()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var task = Path.Combine(dir, "wg.jsonl");
            File.WriteAllLines(task,
            [
                """{"sentence":"Lily gave Tom a cake because _ was hungry.","option1":"Lily","option2":"Tom","answer":"2"}""",
                """{"sentence":"The dog ran to Sue because _ had a ball.","option1":"Sue","option2":"the dog","answer":"1"}""",
            ]);
            var eval = CliRunner.Run(["eval", "mcq", "-m", Rel(Fixtures.Stories260KGguf), "--task", task, "--json"]);
            Assert.Equal(0, eval.ExitCode);
            Assert.Equal(2, JsonDocument.Parse(eval.Stdout).RootElement.GetProperty("n_samples").GetInt32());
            var native = CliRunner.Run(["analyze", "decisions", "-m", Rel(Fixtures.Stories260KGguf), "--task", task, "--render", "native", "--out", dir]);
            Assert.Equal(1, native.ExitCode);
            Assert.Contains("--render lettered", native.Stderr);
            var r = CliRunner.Run(["analyze", "decisions", "-m", Rel(Fixtures.Stories260KGguf), "--task", task, "--out", dir]);
            Assert.Equal(0, r.ExitCode);
            var d = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "decisions.json"))).RootElement;
            Assert.Equal("lettered", d.GetProperty("rendering").GetString());
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void PruneRunWritesTheStrategiesAndApplyWritesALoadableModel()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var r = CliRunner.Run(["prune", "run", "-m", Rel(Fixtures.Stories260KGguf), "--task", "models/stories260K/tasks/story-questions.jsonl", "-k", "2", "--score", "nll", "--out", dir]);
            Assert.Equal(0, r.ExitCode);
            var p = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "pruning.json"))).RootElement;
            Assert.True(p.GetProperty("strategies").EnumerateObject().Count() >= 6);
            Assert.Contains("negative log-likelihood", p.GetProperty("score").GetString());
            var greedy = p.GetProperty("strategies").GetProperty("iterative (greedy, nll)");
            Assert.Equal(3, greedy.GetArrayLength());
            Assert.True(greedy[1].GetProperty("calibration_nll").GetDouble() > greedy[0].GetProperty("calibration_nll").GetDouble());
            Assert.True(new FileInfo(Path.Combine(dir, "pruning.png")).Length > 1000);
            var pruned = Path.Combine(dir, "pruned.gguf");
            var a = CliRunner.Run(["prune", "apply", "-m", Rel(Fixtures.Stories260KGguf), "--drop", "2,3", "-o", pruned]);
            Assert.Equal(0, a.ExitCode);
            var info = CliRunner.Run(["run", "-m", pruned, "-p", "Once upon a time", "-n", "4", "--temp", "0"]);
            Assert.Equal(0, info.ExitCode);
            var bad = CliRunner.Run(["prune", "apply", "-m", Rel(Fixtures.Stories260KGguf), "--drop", "9", "-o", pruned]);
            Assert.Equal(1, bad.ExitCode);
            Assert.Contains("layer 9 does not exist", bad.Stderr);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void LongContextRunsEveryTaskOnTheShippedModelAndOnAShape()
    {
        var r = CliRunner.Run(["eval", "longctx", "-m", Rel(Fixtures.Stories260KGguf), "-c", "512", "-n", "1", "--kv", "dense,selfindex,quest", "--budget", "25%", "--json"]);
        Assert.Equal(0, r.ExitCode);
        var d = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal(512, d.GetProperty("context").GetInt32());
        var results = d.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(6 * 3, results.Count);
        Assert.Equal(["dense", "quest", "selfindex"], results.Select(x => x.GetProperty("kv").GetString()).Distinct().Order());
        Assert.All(results, x => Assert.InRange(x.GetProperty("score").GetDouble(), 0, 100));
        Assert.All(results, x => Assert.True(x.GetProperty("question_tokens_decoded").GetDouble() > 0));

        var s = CliRunner.Run(["eval", "longctx", "--shape", "stories260k", "-c", "1024", "-n", "1", "--kv", "selfindex", "--budget", "64", "--json"]);
        Assert.Equal(0, s.ExitCode);
        Assert.Equal(6, JsonDocument.Parse(s.Stdout).RootElement.GetProperty("results").GetArrayLength());
        var bad = CliRunner.Run(["eval", "longctx", "-m", Rel(Fixtures.Stories260KGguf), "--tasks", "qa_1"]);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("unknown long-context task", bad.Stderr);
    }

    [Fact]
    public void PerplexityReportsKlAndFidelityAgainstDenseAndReusesASavedBase()
    {
        var dir = Fixtures.TempDir();
        try
        {
            string story = Path.Combine(Fixtures.Dir, "stories260K-sample", "story.txt"), kl = Path.Combine(dir, "base.kl");
            var save = CliRunner.Run(["perplexity", "-m", Rel(Fixtures.Stories260KGguf), "-f", story, "--kv", "dense", "--save-kl-base", kl, "--json"]);
            Assert.Equal(0, save.ExitCode);
            double densePpl = JsonDocument.Parse(save.Stdout).RootElement.GetProperty("ppl").GetDouble();
            var r = CliRunner.Run(["perplexity", "-m", Rel(Fixtures.Stories260KGguf), "-f", story, "--kv", "selfindex-f16", "--budget", "25%", "--kl-base", kl, "--fidelity", "--json"]);
            Assert.Equal(0, r.ExitCode);
            var d = JsonDocument.Parse(r.Stdout).RootElement;
            Assert.Equal(densePpl, d.GetProperty("base_ppl").GetDouble(), 6);
            Assert.InRange(d.GetProperty("kl_mean").GetDouble(), 0, 0.05);
            var layers = d.GetProperty("layers").EnumerateArray().ToList();
            Assert.Equal(5, layers.Count);
            Assert.All(layers, l => Assert.InRange(l.GetProperty("recall").GetDouble(), 0.3, 1.0));
            var other = CliRunner.Run(["perplexity", "-m", Rel(Fixtures.Stories260KGguf), "-f", story, "--prefix", "100", "--kl-base", kl]);
            Assert.Equal(1, other.ExitCode);
            Assert.Contains("base.kl", other.Stderr);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void BenchAtDepthReportsKvFieldsInLlamaBenchJson()
    {
        var r = CliRunner.Run(["bench", "--shape", "stories260k", "-p", "0", "-n", "4", "-r", "1", "-d", "300", "--kv", "dense-f16,selfindex,quest", "--budget", "32", "--json"]);
        Assert.Equal(0, r.ExitCode);
        var rows = JsonDocument.Parse(r.Stdout).RootElement.EnumerateArray().ToList();
        Assert.Equal(3, rows.Count);
        foreach (var row in rows)
        {
            Assert.Equal(300, row.GetProperty("depth").GetInt32());
            Assert.Equal(300, row.GetProperty("n_depth").GetInt32());
            Assert.Equal(4, row.GetProperty("n_gen").GetInt32());
            Assert.True(row.GetProperty("kv_bytes").GetInt64() > 0);
            Assert.True(row.GetProperty("attn_ms").GetDouble() > 0);
            Assert.True(row.GetProperty("avg_ts").GetDouble() > 0);
        }
        Assert.Equal("32", rows[1].GetProperty("budget").GetString());
        Assert.True(rows[1].GetProperty("kv_bytes_per_token_per_head").GetDouble() < rows[0].GetProperty("kv_bytes_per_token_per_head").GetDouble());
    }
}
