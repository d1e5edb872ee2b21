using System.Text.Json;
using Sieve.Tests.Cli;

namespace Sieve.Tests.Sparsity;

/// <summary>`sieve sparsity calibrate` and --sparsity-file through the real CLI: files that work, and bad input as one line with exit code 1.</summary>
public class SparsityCliTests
{
    static readonly string Model = Path.GetRelativePath(Fixtures.RepoRoot, Fixtures.Stories260KGguf);
    const string Text = "tests/fixtures/stories260K-sample/story.txt";
    const string Task = "models/stories260K/tasks/story-questions.jsonl";

    [Fact]
    public void BadCalibrationOptionsAreRefusedWithOneLine()
    {
        var dir = Fixtures.TempDir();
        try
        {
            string o = Path.Combine(dir, "t.json");
            string[] cal = ["sparsity", "calibrate", "-m", Model, "-f", Text, "-o", o, "--tokens", "128"];
            CliRunner.AssertRefused(CliRunner.Run([.. cal, "--method", "chess", "--sparsity", "1"]), "--sparsity 1: a sparsity must be in [0, 1)");
            CliRunner.AssertRefused(CliRunner.Run([.. cal, "--method", "chess", "--sparsity", "-0.2"]), "a sparsity must be in [0, 1)");
            CliRunner.AssertRefused(CliRunner.Run([.. cal, "--method", "chess", "--sparsity", "0.5,0.5"]), "2 values for a model of 5 layers");
            CliRunner.AssertRefused(CliRunner.Run([.. cal, "--method", "chess", "--sparsity", "half"]), "'half' is not a number");
            CliRunner.AssertRefused(CliRunner.Run([.. cal, "--method", "relu"]), "--method relu: not a method");
            CliRunner.AssertRefused(CliRunner.Run([.. cal, "--method", "teal", "--chess-l2"]), "--chess-l2: only for chess and chess+");
            CliRunner.AssertRefused(CliRunner.Run(["sparsity", "calibrate", "-m", Model, "-f", Path.Combine(dir, "none.txt"), "-o", o, "--method", "cats"]), "file not found");
            Assert.False(File.Exists(o));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ACalibratedFileRunsEveryCommandAndReportsTheMeasuredSparsity()
    {
        var dir = Fixtures.TempDir();
        try
        {
            string file = Path.Combine(dir, "chess+.json");
            var made = CliRunner.Run(["sparsity", "calibrate", "-m", Model, "-f", Text, "--method", "chess+", "--sparsity", "0.5", "--tokens", "512", "--window", "128", "-o", file]);
            Assert.True(made.ExitCode == 0, made.Stderr);
            var json = JsonDocument.Parse(File.ReadAllText(file)).RootElement;
            Assert.Equal("chess+", json.GetProperty("method").GetString());
            Assert.Equal(5, json.GetProperty("shape").GetProperty("layers").GetInt32());
            Assert.Equal(64, json.GetProperty("calibration").GetProperty("sha256").GetString()!.Length);
            Assert.Equal(512, json.GetProperty("calibration").GetProperty("tokens").GetInt32());
            Assert.False(json.GetProperty("layers")[0].TryGetProperty("qkv_input", out _));

            var run = CliRunner.Run(["run", "-m", Model, "-p", "Once upon a time", "-n", "32", "--temp", "0", "--sparsity-file", file, "--sparsity-verbose"]);
            Assert.True(run.ExitCode == 0, run.Stderr);
            Assert.Contains("measured activation sparsity (chess+ at 50% target): q_input", run.Stderr);
            Assert.Contains("layer 4 (target 50%)", run.Stderr);
            var ppl = CliRunner.Run(["perplexity", "-m", Model, "-f", Text, "-c", "128", "--json", "--sparsity-file", file]);
            Assert.True(ppl.ExitCode == 0, ppl.Stderr);
            var p = JsonDocument.Parse(ppl.Stdout).RootElement;
            Assert.True(p.GetProperty("kl_mean").GetDouble() > 0);   // against the dense run of the same process
            var measured = p.GetProperty("sparsity").GetProperty("measured");
            Assert.InRange(measured.GetProperty("gate").GetDouble(), 0.2, 0.8);
            var mcq = CliRunner.Run(["eval", "mcq", "-m", Model, "--task", Task, "--limit", "4", "--sparsity-file", file, "--sparsity-dense-kernels"]);
            Assert.True(mcq.ExitCode == 0, mcq.Stderr);
            Assert.Contains("dense kernels on the masked activations", mcq.Stderr);
            var bench = CliRunner.Run(["bench", "-m", Model, "-p", "8", "-n", "4", "-r", "1", "--json", "--sparsity-file", file]);
            Assert.True(bench.ExitCode == 0, bench.Stderr);
            var rows = JsonDocument.Parse(bench.Stdout).RootElement.EnumerateArray().ToList();
            var tg = rows.Single(x => x.GetProperty("n_gen").GetInt32() == 4 && x.GetProperty("sparsity_method").GetString() == "chess+");
            Assert.True(tg.GetProperty("decode_weight_bytes_per_token").GetDouble() < tg.GetProperty("dense_weight_bytes_per_token").GetDouble());
            Assert.True(tg.GetProperty("speedup_vs_dense").GetDouble() > 0);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void BenchCalibratesOnRandomTokensWithoutAFile()
    {
        var bench = CliRunner.Run(["bench", "-m", Model, "-p", "0", "-n", "4", "-r", "1", "--json", "--sparsity-method", "cats,teal", "--sparsity", "0.4,0.7"]);
        Assert.True(bench.ExitCode == 0, bench.Stderr);
        Assert.Contains("calibration took", bench.Stderr);
        var rows = JsonDocument.Parse(bench.Stdout).RootElement.EnumerateArray().ToList();
        Assert.Equal(8, rows.Count);   // cats and teal at 40% and 70%, each paired with a dense row run beside it
        for (int i = 0; i < rows.Count; i += 2)
        {
            Assert.Equal("none", rows[i].GetProperty("sparsity_method").GetString());
            double ratio = rows[i + 1].GetProperty("avg_ts").GetDouble() / rows[i].GetProperty("avg_ts").GetDouble();
            Assert.Equal(ratio, rows[i + 1].GetProperty("speedup_vs_dense").GetDouble(), 9);   // against its own pair
        }
        var teal = rows.Single(x => x.GetProperty("sparsity_method").GetString() == "teal" && x.GetProperty("sparsity_target").GetSingle() == 0.7f);
        Assert.True(teal.TryGetProperty("sparsity_calibration_s", out _));
        Assert.Equal(["qkv_input", "o_input", "ffn_input", "down_input"], teal.GetProperty("sparsity_measured").EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void BadThresholdFilesAreRefusedWithOneLineOnEveryCommand()
    {
        var dir = Fixtures.TempDir();
        try
        {
            string broken = Path.Combine(dir, "broken.json");
            File.WriteAllText(broken, "{\"format\": \"sieve-activation-thresholds\", ");
            string other = Path.Combine(dir, "other.json");
            Sieve.Sparsity.ActivationThresholdsFile.Save(other, new Sieve.Sparsity.ActivationThresholds
            {
                Method = Sieve.Sparsity.SparsityMethod.Cats, LayerCount = 32, Dim = 4096, QDim = 4096, FfnDim = 14336,
                TargetSparsity = Enumerable.Repeat(0.5f, 32).ToArray(), Layers = Enumerable.Repeat(new Sieve.Sparsity.LayerThresholds { Gate = 0.1f }, 32).ToArray(),
            });
            string[] run = ["run", "-m", Model, "-p", "Once", "-n", "4"];
            CliRunner.AssertRefused(CliRunner.Run([.. run, "--sparsity-file", broken]), $"thresholds file {broken}: not valid JSON");
            CliRunner.AssertRefused(CliRunner.Run([.. run, "--sparsity-file", other]), "the thresholds are for a model of 32 layers, dim 4096");
            CliRunner.AssertRefused(CliRunner.Run([.. run, "--sparsity-file", Path.Combine(dir, "none.json")]), "none.json: file not found");
            CliRunner.AssertRefused(CliRunner.Run([.. run, "--sparsity-dense-kernels"]), "--sparsity-dense-kernels: give --sparsity-file too");
            CliRunner.AssertRefused(CliRunner.Run(["perplexity", "-m", Model, "-f", Text, "--sparsity-file", other]), "a model of 32 layers");
            CliRunner.AssertRefused(CliRunner.Run(["eval", "mcq", "-m", Model, "--task", Task, "--sparsity-file", broken]), "not valid JSON");
            CliRunner.AssertRefused(CliRunner.Run(["eval", "longctx", "-m", Model, "--tasks", "passkey", "-n", "1", "-c", "200", "--sparsity-file", other]), "a model of 32 layers");
            CliRunner.AssertRefused(CliRunner.Run(["chat", "-m", Model, "--sparsity-file", broken], stdin: "hi\n"), "not valid JSON");
            CliRunner.AssertRefused(CliRunner.Run(["bench", "-m", Model, "-p", "8", "-n", "0", "-r", "1", "--sparsity-file", other]), "a model of 32 layers");
            CliRunner.AssertRefused(CliRunner.Run(["bench", "-m", Model, "-p", "8", "-n", "0", "-r", "1", "--sparsity-method", "chess", "--sparsity", "1.5"]), "--sparsity 1.5: a sparsity must be in [0, 1)");
            CliRunner.AssertRefused(CliRunner.Run(["bench", "-m", Model, "-p", "8", "-n", "0", "-r", "1", "--sparsity", "0.5"]), "--sparsity: give --sparsity-method too");
        }
        finally { Directory.Delete(dir, true); }
    }
}
