using Sieve.Pop;
using Sieve.Tests.Cli;

namespace Sieve.Tests.Pop;

/// <summary><c>sieve pop importance</c> end to end on stories260K, and its one-line refusals.</summary>
public class PopImportanceCommandTests
{
    static string Model => Path.GetRelativePath(Fixtures.RepoRoot, Fixtures.Stories260KGguf);

    [Fact]
    public void ASmallRunWritesTheJsonAndThePlotAndPrintsTheTable()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var text = Path.Combine(dir, "calib.txt");
            File.WriteAllText(text, PopFixtures.OracleText());
            var outDir = Path.Combine(dir, "out");
            var r = CliRunner.Run(["pop", "importance", "-m", Model, "-f", text, "--prompt-len", "32", "--decode-len", "8", "--windows", "2", "-o", outDir, "-t", "1"]);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Contains("pop importance: window 2/2, pass 31/31", r.Stderr);   // 6·5 + 1 passes per window
            Assert.Contains("ΔL dec", r.Stdout);
            var report = ImportanceReport.Load(Path.Combine(outDir, "pop-importance.json"));
            Assert.Equal("stories260K.gguf", report.Model);
            Assert.Equal(5, report.ModelLayers);
            Assert.Equal(ImportanceReport.HashText(PopFixtures.OracleText()), report.TextSha256);
            Assert.Equal((32, 8, 2, 0.01), (report.Settings.PromptLength, report.Settings.DecodeLength, report.Settings.Windows, report.Settings.Epsilon));
            Assert.All(report.Layers, l => Assert.True(l.Decode.Fisher > 0 && l.Text.Decode.Ablation > 0));
            Assert.Equal(4, report.PrefillOrder()[0]);   // the last layer's prefill gate changes nothing: importance 0
            Assert.Equal(4, report.PrefillOrder(ImportanceMetric.Ablation)[0]);
            Assert.Equal([0, 1, 2, 3, 4], report.PrefillOrder().Order());
            var png = File.ReadAllBytes(Path.Combine(outDir, "pop-importance.png"));
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);

            var json = CliRunner.Run(["pop", "importance", "-m", Model, "-f", text, "--prompt-len", "32", "--decode-len", "8", "--windows", "1", "-o", outDir, "--json", "-t", "1"]);
            Assert.Equal(0, json.ExitCode);
            Assert.StartsWith("{", json.Stdout.TrimStart());
            Assert.Contains("\"kind\": \"sieve.pop.importance\"", json.Stdout);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("missing", new string[0], "missing.txt: file not found")]
    [InlineData("empty", new string[0], "the calibration text is empty")]
    [InlineData("short", new[] { "--prompt-len", "512", "--decode-len", "64" }, "one window needs 575")]
    [InlineData("ok", new[] { "--prompt-len", "2000", "--decode-len", "64" }, "do not fit the model's context of 2048")]
    [InlineData("ok", new[] { "--epsilon", "0" }, "--epsilon 0: must be a number from")]
    [InlineData("ok", new[] { "--epsilon", "0.9" }, "--epsilon 0.9: must be a number from")]
    [InlineData("ok", new[] { "--prompt-len", "1" }, "--prompt-len 1: must be a whole number, 2 or more")]
    [InlineData("ok", new[] { "--decode-len", "0" }, "--decode-len 0: must be a whole number, 1 or more")]
    public void BadInputEndsWithOneLineAndExitCodeOne(string file, string[] extra, string message)
    {
        var dir = Fixtures.TempDir();
        try
        {
            var path = Path.Combine(dir, file + ".txt");
            if (file == "empty") File.WriteAllText(path, "\n  \n");
            if (file == "short") File.WriteAllText(path, "Once upon a time, there was a little girl named Lily.");
            if (file == "ok") File.WriteAllText(path, PopFixtures.OracleText());
            var r = CliRunner.Run(["pop", "importance", "-m", Model, "-f", path, "-o", Path.Combine(dir, "out"), .. extra]);
            Assert.Equal(1, r.ExitCode);
            var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length == 1, r.Stderr);
            Assert.Contains(message, lines[0]);
            Assert.False(Directory.Exists(Path.Combine(dir, "out")));
        }
        finally { Directory.Delete(dir, true); }
    }
}
