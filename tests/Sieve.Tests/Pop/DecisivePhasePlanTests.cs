using Sieve.Models.Pop;
using Sieve.Pop;
using Sieve.Tests.Cli;

namespace Sieve.Tests.Pop;

/// <summary><c>sieve pop plan --from-decisions</c>: the cut inside the Decisive Phase of decisions.json, and its refusals.</summary>
public class DecisivePhasePlanTests
{
    static string Model => Path.GetRelativePath(Fixtures.RepoRoot, Fixtures.Stories260KGguf);

    /// <summary>A decisions.json as <c>analyze decisions</c> writes it, for a model of <paramref name="blocks"/> blocks.</summary>
    static string Decisions(int blocks, string transition) =>
        $$"""{"model": "m", "transition_layer": {{transition}}, "layers": [{{string.Join(", ", Enumerable.Range(0, blocks + 1).Select(l => $"{{\"layer\": {l}, \"margin\": 0}}"))}}]}""";

    [Theory]
    [InlineData(3, null, new[] { 2, 3, 4 })]   // read-out 3 is block 2's output: blocks 2-4 lie in the phase
    [InlineData(3, 2, new[] { 3, 4 })]         // --pop 2: the last two of them, the cut deeper
    [InlineData(3, 4, new[] { 2, 3, 4 })]      // a cap above the phase's size skips only the phase
    [InlineData(5, null, new[] { 4 })]         // stories260K's own transition: the last block only
    [InlineData(1, null, new[] { 1, 2, 3, 4 })] // block 0 always runs
    [InlineData(0, null, new[] { 1, 2, 3, 4 })]
    public void TheCutLiesInsideTheDecisivePhase(int transition, int? cap, int[] skipped)
    {
        var dir = Fixtures.TempDir();
        try
        {
            var path = Path.Combine(dir, "decisions.json");
            File.WriteAllText(path, Decisions(5, transition.ToString()));
            var plan = DecisivePhasePlan.Load(path, 5).Plan(cap, "decisions.json");
            Assert.Equal(skipped, plan.SkippedLayers);
            var output = Path.Combine(dir, "plan.json");
            string[] args = ["pop", "plan", "-m", Model, "--from-decisions", path, "-o", output, .. cap is int n ? new[] { "--pop", n.ToString() } : []];
            var r = CliRunner.Run(args);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal(skipped, PopPlanFile.Load(output, 5).SkippedLayers);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData(null, "file not found")]
    [InlineData("", "the file is empty")]
    [InlineData("{\"layers\": [", "not valid JSON")]
    [InlineData("[1, 2]", "no \"layers\" list")]
    [InlineData("{\"transition_layer\": 2}", "no \"layers\" list")]
    [InlineData("7blocks", "this model has 5 blocks")]
    [InlineData("t:null", "no transition layer")]
    [InlineData("t:\"3\"", "no transition layer")]
    [InlineData("t:6", "transition layer 6 is outside the read-outs 0..5")]
    [InlineData("t:-1", "transition layer -1 is outside")]
    public void ABadDecisionsFileIsOneLineAndExitCodeOne(string? content, string message)
    {
        var dir = Fixtures.TempDir();
        try
        {
            var path = Path.Combine(dir, "decisions.json");
            if (content == "7blocks") File.WriteAllText(path, Decisions(7, "3"));
            else if (content?.StartsWith("t:") == true) File.WriteAllText(path, Decisions(5, content[2..]));
            else if (content != null) File.WriteAllText(path, content);
            var output = Path.Combine(dir, "plan.json");
            var r = CliRunner.Run(["pop", "plan", "-m", Model, "--from-decisions", path, "-o", output]);
            Assert.Equal(1, r.ExitCode);
            var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length == 1, r.Stderr);
            Assert.Contains("--from-decisions", lines[0]);
            Assert.Contains(message, lines[0]);
            Assert.False(File.Exists(output));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData(new[] { "--pop-layers", "2-3" }, "give no --pop-layers, --pop-plan or --pop-importance with it")]
    [InlineData(new[] { "--pop", "0" }, "--pop 0: with --from-decisions give 1 or more")]
    public void ConflictingOptionsAreOneLine(string[] extra, string message)
    {
        var dir = Fixtures.TempDir();
        try
        {
            var path = Path.Combine(dir, "decisions.json");
            File.WriteAllText(path, Decisions(5, "3"));
            var r = CliRunner.Run(["pop", "plan", "-m", Model, "--from-decisions", path, "-o", Path.Combine(dir, "plan.json"), .. extra]);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains(message, r.Stderr.Trim());
            Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        finally { Directory.Delete(dir, true); }
    }
}
