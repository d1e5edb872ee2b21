using Sieve.Fuzz.Core;
using Sieve.Fuzz.Seeds;
using Xunit.Abstractions;

namespace Sieve.Fuzz.Tests;

/// <summary>
/// The fuzz harness as part of the suite. Inputs run in child processes (hard heap cap, watchdog), so a hang or a
/// crash fails the test with the input saved and named instead of taking the test host down.
/// </summary>
public class FuzzRunTests(ITestOutputHelper output)
{
    /// <summary>About a minute in all: 7.5 s for each of the eight formats, on one core.</summary>
    const double SecondsPerFormat = 7.5;
    const int RunSeed = 1;

    static string TempDir(string name)
    {
        var d = Path.Combine(Path.GetTempPath(), "sieve-fuzz-tests", name + "-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }

    [Fact]
    public void BoundedFixedSeedRunFindsNoCrashHangOrHugeAllocation()
    {
        string outDir = TempDir("run");
        var log = new StringWriter();
        var counts = Supervisor.Fuzz(new Supervisor.Options(FormatRegistry.All.Select(f => f.Name).ToList(), long.MaxValue, RunSeed, outDir, SecondsPerFormat, null), log);
        string table = FormatCounts.Table(counts);
        output.WriteLine(log.ToString());
        output.WriteLine(table);
        output.WriteLine($"failing inputs saved under {outDir}");
        Assert.All(counts, c => Assert.True(c.Inputs > 0, $"{c.Format}: no input ran"));
        Assert.True(counts.Sum(c => c.Failures) == 0, $"fuzzing found failures (inputs saved under {outDir}):\n{table}");
    }

    [Fact]
    public void EveryCommittedRegressionInputPassesTheOracle()
    {
        var cases = RegressionCase.Load(RepoPaths.Regressions);
        Assert.NotEmpty(cases);
        var results = Supervisor.Replay(RepoPaths.Regressions, TempDir("replay"), null);
        var failed = results.Where(r => !r.Result.Passed).ToList();
        foreach (var (c, r) in results)
            output.WriteLine($"{(r.Passed ? "pass" : "FAIL")}  {c.Format}/{c.Name}: {r.Outcome} {r.Signature ?? r.Detail?.Split('\n')[0]}");
        Assert.True(failed.Count == 0, $"{failed.Count} of {results.Count} regression inputs fail:\n" +
            string.Join("\n", failed.Select(f => $"  {f.Case.Format}/{f.Case.Name}: {f.Result.Outcome} {f.Result.Signature}")));
    }

    [Fact]
    public void InputsAreAPureFunctionOfSeedFormatAndIndex()
    {
        foreach (var f in FormatRegistry.All)
            for (long i = 0; i < 20; i++)
            {
                var a = Iterations.Input(f, RunSeed, i);
                var b = Iterations.Input(f, RunSeed, i);
                Assert.Equal(a.Seed, b.Seed);
                Assert.Equal(a.Files.Keys.Order(), b.Files.Keys.Order());
                foreach (var (name, bytes) in a.Files) Assert.True(bytes.AsSpan().SequenceEqual(b.Files[name]), $"{f.Name} input {i}: {name} differs between two builds");
            }
    }

    /// <summary>A mutator that throws would stop a long run; each must handle whatever an earlier mutation left.</summary>
    [Fact]
    public void MutatorsHandleTheirOwnOutput()
    {
        foreach (var f in FormatRegistry.All)
            for (long i = 0; i < 400; i++)
            {
                var input = Iterations.Input(f, RunSeed + 1, i);
                var rng = new Random((int)i);
                for (int k = 0; k < 3; k++) input = f.Mutate(input, rng);
                Assert.NotEmpty(input.Files);
            }
    }
}
