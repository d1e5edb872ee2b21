using System.Text.Json;
using Sieve.Tests.Cli;

namespace Sieve.Tests.Sparsity;

public class SparsitySweepTests
{
    static readonly string Model = Path.GetRelativePath(Fixtures.RepoRoot, Fixtures.Stories260KGguf);
    const string Text = "tests/fixtures/stories260K-sample/story.txt";

    [Fact]
    public void TheSweepWritesAPointPerMethodAndTargetWithAPlot()
    {
        var dir = Fixtures.TempDir();
        try
        {
            string json = Path.Combine(dir, "sweep.json"), png = Path.Combine(dir, "sweep.png");
            var r = CliRunner.Run(["sparsity", "sweep", "-m", Model, "-f", Text, "--methods", "cats,chess", "--sparsities", "0.3,0.6", "--heldout", "96",
                "--window", "128", "--speed-tokens", "4", "--speed-reps", "1", "-o", json, "--png", png]);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.True(new FileInfo(png).Length > 1000);
            var report = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
            Assert.Equal(96, report.GetProperty("heldout_tokens").GetInt32());
            var points = report.GetProperty("points").EnumerateArray().ToList();
            Assert.Equal(4, points.Count);
            foreach (var p in points)
            {
                Assert.True(p.GetProperty("kl_mean").GetDouble() > 0);
                Assert.True(p.GetProperty("speedup").GetDouble() > 0);
                Assert.True(p.GetProperty("decode_weight_bytes_per_token").GetDouble() < report.GetProperty("dense_weight_bytes_per_token").GetDouble());
            }
            // More sparsity costs more: the 60% point of each method is further from dense than its 30% point.
            foreach (var method in new[] { "cats", "chess" })
            {
                var kl = points.Where(p => p.GetProperty("method").GetString() == method).OrderBy(p => p.GetProperty("target").GetSingle()).Select(p => p.GetProperty("kl_mean").GetDouble()).ToList();
                Assert.True(kl[1] > kl[0], $"{method}: KL {kl[0]} at 30%, {kl[1]} at 60%");
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void BadSweepOptionsAreRefusedWithOneLine()
    {
        var r = CliRunner.Run(["sparsity", "sweep", "-m", Model, "-f", Text, "--sparsities", "0.5,1.2", "-o", "/tmp/never.json"]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--sparsities 1.2: a sparsity must be in [0, 1)", r.Stderr);
        r = CliRunner.Run(["sparsity", "sweep", "-m", Model, "-f", Text, "--methods", "cats,cats", "-o", "/tmp/never.json"]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("a method is listed twice", r.Stderr);
    }
}
