namespace Sieve.Tests.Cli;

public class KvOffloadCliTests
{
    static string Rel(string path) => Path.GetRelativePath(Fixtures.RepoRoot, path);

    static CliRunner.Result Run(string method, params string[] extra) => CliRunner.Run(
        ["run", "-m", Rel(Fixtures.Stories260KGguf), "-p", "Once upon a time", "-n", "120", "--temp", "0", "--kv", method, "--budget", "16", .. extra]);

    [Fact]
    public void AnOffloadedRunWritesTheSameTextAndLeavesTheDirectoryEmpty()
    {
        var dir = Fixtures.TempDir();
        var ram = Run("quest");
        var offloaded = Run("quest", "--kv-offload", dir);
        Assert.True(ram.ExitCode == 0, ram.Stderr);
        Assert.True(offloaded.ExitCode == 0, offloaded.Stderr);
        Assert.True(ram.Stdout.Length > 200, ram.Stdout);   // 120 tokens: past the 72 rows a head keeps resident, so the file is read
        Assert.Equal(ram.Stdout, offloaded.Stdout);
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public void ADirectoryThatCannotHoldTheFileIsOneLineAndExitCodeOne()
    {
        var dir = Fixtures.TempDir();
        var missing = Path.Combine(dir, "nonexistent");
        CliRunner.AssertRefused(Run("quest", "--kv-offload", missing), $"--kv-offload {missing}: no such directory");
        var file = Path.Combine(dir, "file");
        File.WriteAllText(file, "");
        CliRunner.AssertRefused(Run("quest", "--kv-offload", file), $"--kv-offload {file}: is a file, not a directory");
        Assert.Equal(["file"], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName));
    }

    [Fact]
    public void MethodsWithoutFullPrecisionRowsInATierRefuseIt()
    {
        var dir = Fixtures.TempDir();
        CliRunner.AssertRefused(Run("dense", "--kv-offload", dir), "--kv-offload: the dense cache keeps F32 rows in RAM; offload the F16 one: --kv dense-f16");
        CliRunner.AssertRefused(Run("selfindex", "--kv-offload", dir), "--kv-offload: the selfindex cache keeps no full-precision rows to offload");
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Sieve.Tests.Cache.LinuxFact]
    public void ADirectoryNobodyCanWriteIsOneLineAndExitCodeOne() =>
        CliRunner.AssertRefused(Run("quest", "--kv-offload", "/proc"), "--kv-offload /proc: not writable");
}
