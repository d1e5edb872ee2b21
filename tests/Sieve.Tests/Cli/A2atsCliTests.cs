namespace Sieve.Tests.Cli;

/// <summary>`sieve a2ats calibrate` and `--kv a2ats --codebooks` end to end, and the files they refuse.</summary>
public class A2atsCliTests
{
    const string Model = "models/stories260K/stories260K.gguf";
    const string Story = "tests/fixtures/stories260K-sample/story.txt";

    /// <summary>Small codebooks for stories260K (a fitted file is shared by the tests of this class).</summary>
    static readonly Lazy<string> Books = new(() =>
    {
        var path = Path.Combine(Fixtures.TempDir(), "stories.a2ats.gguf");
        var r = CliRunner.Run(["a2ats", "calibrate", "-m", Model, "-f", Story, "--uuid-tokens", "512", "--centroids", "64", "--iterations", "10", "-o", path]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains($"wrote {path}: 5 × 4 codebooks of 64 centroids", r.Stdout);
        return path;
    });

    [Fact]
    public void CalibratedCodebooksRunAndAtFullBudgetGiveTheDenseText()
    {
        string[] run = ["run", "-m", Model, "-p", "Once upon a time", "-n", "96", "--temp", "0"];
        var dense = CliRunner.Run([.. run, "--kv", "dense-f16"]);
        var full = CliRunner.Run([.. run, "--kv", "a2ats", "--codebooks", Books.Value, "--budget", "100%"]);
        var sparse = CliRunner.Run([.. run, "--kv", "a2ats", "--codebooks", Books.Value]);
        Assert.True(full.ExitCode == 0, full.Stderr);
        Assert.True(sparse.ExitCode == 0, sparse.Stderr);
        Assert.Equal(dense.Stdout, full.Stdout);
        Assert.StartsWith(", there was a little girl", sparse.Stdout);
    }

    [Fact]
    public void CodebooksOfAnotherModelACorruptOneOrNoneAreRefusedInOneLine()
    {
        CliRunner.AssertRefused(CliRunner.Run(["run", "-m", Fixtures.TinyK("f32"), "-p", "Hi", "-n", "2", "--kv", "a2ats", "--codebooks", Books.Value]),
            "codebooks were fitted for model stories260K.gguf");
        var dir = Fixtures.TempDir();
        var bytes = File.ReadAllBytes(Books.Value);
        var truncated = Path.Combine(dir, "truncated.gguf");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        CliRunner.AssertRefused(CliRunner.Run(["run", "-m", Model, "-p", "Hi", "-n", "2", "--kv", "a2ats", "--codebooks", truncated]), "truncated.gguf");
        var notGguf = Path.Combine(dir, "story.gguf");
        File.Copy(Path.Combine(Fixtures.RepoRoot, Story), notGguf);
        CliRunner.AssertRefused(CliRunner.Run(["run", "-m", Model, "-p", "Hi", "-n", "2", "--kv", "a2ats", "--codebooks", notGguf]), "story.gguf");
        CliRunner.AssertRefused(CliRunner.Run(["run", "-m", Model, "-p", "Hi", "-n", "2", "--kv", "a2ats"]), "--kv a2ats needs codebooks");
        CliRunner.AssertRefused(CliRunner.Run(["run", "-m", Model, "-p", "Hi", "-n", "2", "--kv", "a2ats", "--codebooks", Path.Combine(dir, "missing.gguf")]), "missing.gguf");
    }

    [Fact]
    public void CalibrationRefusesNothingToDoAndLeavesNoFileOnError()
    {
        var dir = Fixtures.TempDir();
        var output = Path.Combine(dir, "books.gguf");
        CliRunner.AssertRefused(CliRunner.Run(["a2ats", "calibrate", "-m", Model, "--uuid-tokens", "0", "-o", output]), "nothing to calibrate on");
        CliRunner.AssertRefused(CliRunner.Run(["a2ats", "calibrate", "-m", Model, "-f", Path.Combine(dir, "none.txt"), "-o", output]), "none.txt");
        Assert.Empty(Directory.GetFiles(dir));
    }

    [Fact]
    public void AnOffloadedA2atsCacheGivesTheSameTextAndLeavesNoFile()
    {
        var dir = Fixtures.TempDir();
        string[] run = ["run", "-m", Model, "-p", "Once upon a time", "-n", "120", "--temp", "0", "--kv", "a2ats", "--codebooks", Books.Value, "--budget", "10%"];
        var ram = CliRunner.Run(run);
        var offloaded = CliRunner.Run([.. run, "--kv-offload", dir]);
        Assert.True(offloaded.ExitCode == 0, offloaded.Stderr);
        Assert.Equal(ram.Stdout, offloaded.Stdout);
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }
}
