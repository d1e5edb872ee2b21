namespace Sieve.Tests.Cli;

/// <summary>
/// Numeric and string option values on the command line: every value without a meaning ends as one line naming the
/// option and the value, exit code 1, before any model is loaded; llama.cpp's special values (-1, 0, 1) keep their
/// meanings.
/// </summary>
public class CliValueTests
{
    const string Model = "models/stories260K/stories260K.gguf";

    static string[] Run(params string[] extra) => ["run", "-m", Model, "-p", "Once", .. extra];
    static string[] Chat(params string[] extra) => ["chat", "-m", Model, .. extra];
    static string[] Bench(params string[] extra) => ["bench", "--shape", "stories260k", .. extra];

    public static IEnumerable<object[]> BadValues() =>
    [
        // run / chat sampling
        [Run("--temp", "nan"), "--temp", "nan"],
        [Run("--temp", "-1"), "--temp", "-1"],
        [Run("--temp", "inf"), "--temp", "inf"],
        [Run("--temp", "warm"), "--temp", "warm"],
        [Run("--top-p", "nan"), "--top-p", "nan"],
        [Run("--top-p", "1.5"), "--top-p", "1.5"],
        [Run("--min-p", "nan"), "--min-p", "nan"],
        [Run("--repeat-penalty", "0"), "--repeat-penalty", "0"],
        [Run("--repeat-penalty", "-1"), "--repeat-penalty", "-1"],
        [Run("--repeat-penalty", "nan"), "--repeat-penalty", "nan"],
        [Run("--repeat-last-n", "-5"), "--repeat-last-n", "-5"],
        [Run("--top-k", "-5"), "--top-k", "-5"],
        [Run("--seed", "-2"), "--seed", "-2"],
        [Run("--seed", "x"), "--seed", "x"],
        [Run("--stop", ""), "--stop", ""],
        // run counts
        [Run("-n", "-5"), "-n", "-5"],
        [Run("--n-predict", "-5"), "--n-predict", "-5"],
        [Run("-c", "-1"), "-c", "-1"],
        [Run("-t", "-3"), "-t", "-3"],
        [Run("-t", "0"), "-t", "0"],
        [Run("-n", "99999999999"), "-n", "99999999999"],
        // KV options every generating command shares
        [Run("--sinks", "-1"), "--sinks", "-1"],
        [Run("--window", "0"), "--window", "0"],
        [Run("--dense-set", "-1"), "--dense-set", "-1"],
        [Run("--recent", "-1"), "--recent", "-1"],
        [Run("--dense-layers", "-2"), "--dense-layers", "-2"],
        // chat
        [Chat("-n", "-5"), "-n", "-5"],
        [Chat("-n", "0"), "-n", "0"],
        [Chat("--temp", "nan"), "--temp", "nan"],
        [Chat("-c", "-1"), "-c", "-1"],
        [Chat("-t", "-3"), "-t", "-3"],
        // bench
        [Bench("-p", "-5", "-n", "-5"), "-p", "-5"],
        [Bench("-n", "-5"), "-n", "-5"],
        [Bench("-r", "0"), "-r", "0"],
        [Bench("-t", "-3"), "-t", "-3"],
        [Bench("-p", "0", "-n", "0"), "-p", "nothing to measure"],
        [Bench("-d", "-4"), "-d", "-4"],
        [Bench("-d", "4,x"), "-d", "x"],
        // perplexity, eval longctx
        [new[] { "perplexity", "-m", Model, "-f", "README.md", "-c", "-1" }, "-c", "-1"],
        [new[] { "perplexity", "-m", Model, "-f", "README.md", "--prefix", "-1" }, "--prefix", "-1"],
        [new[] { "eval", "longctx", "-m", Model, "-n", "0" }, "-n", "0"],
        [new[] { "eval", "longctx", "-m", Model, "-c", "-5" }, "-c", "-5"],
        // options of commands whose files declare no range still get the default one (counts are never negative)
        [new[] { "eval", "mcq", "-m", Model, "--task", "x.jsonl", "--limit", "-1" }, "--limit", "-1"],
        [new[] { "prune", "run", "-m", Model, "--task", "x.jsonl", "--steps", "-1" }, "--steps", "-1"],
        [new[] { "prune", "run", "-m", Model, "--task", "x.jsonl", "--calib-windows", "0" }, "--calib-windows", "0"],
        [new[] { "prune", "run", "-m", Model, "--task", "x.jsonl", "--calib-tokens", "1" }, "--calib-tokens", "1"],
    ];

    [Theory, MemberData(nameof(BadValues))]
    public void BadValueIsOneLineNamingTheOptionAndTheValue(string[] args, string option, string value)
    {
        var r = CliRunner.Run(args);
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}; stdout: {r.Stdout}; stderr: {r.Stderr}");
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, r.Stderr);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(option, lines[0]);
        Assert.Contains(value, lines[0]);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.DoesNotContain("System.", r.Stderr);
        Assert.DoesNotContain("Usage:", r.Stdout);   // no help page dumped after the error
    }

    [Fact]
    public void BenchDepthBeyondTheContextNamesTheLargestDepth()
    {
        var m = CliRunner.Run(["bench", "-m", Model, "-p", "8", "-n", "16", "-r", "1", "-d", "2147483647"]);
        Assert.Equal(1, m.ExitCode);
        var line = Assert.Single(m.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains("2147483647", line);
        Assert.Contains("-d 2031", line);   // 2048 positions − 16 tested tokens − 1

        // A random-weight shape grows its context to the depth, up to a named bound, never an overflow.
        var s = CliRunner.Run(Bench("-r", "1", "-p", "8", "-n", "8", "-d", "2147483647"));
        Assert.Equal(1, s.ExitCode);
        var errors = s.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("bench: ")).ToList();
        Assert.True(errors.Count == 1, s.Stderr);
        line = errors[0];
        Assert.StartsWith("error: ", line);
        Assert.Contains("2147483647", line);
        Assert.DoesNotContain("   at ", s.Stderr);
    }

    [Fact]
    public void SeedMinusOneIsARandomSeedThatIsPrintedSoTheRunCanBeRepeated()
    {
        var first = CliRunner.Run(Run("-n", "24", "--temp", "1", "--seed", "-1", "--ignore-eos"));
        Assert.Equal(0, first.ExitCode);
        var m = System.Text.RegularExpressions.Regex.Match(first.Stderr, @"seed (\d+)");
        Assert.True(m.Success, first.Stderr);
        var again = CliRunner.Run(Run("-n", "24", "--temp", "1", "--seed", m.Groups[1].Value, "--ignore-eos"));
        Assert.Equal(0, again.ExitCode);
        Assert.Equal(first.Stdout, again.Stdout);

        // No --seed at all is llama.cpp's default (-1): random, and printed too.
        var dflt = CliRunner.Run(Run("-n", "4", "--temp", "1"));
        Assert.Equal(0, dflt.ExitCode);
        Assert.Matches(@"seed \d+", dflt.Stderr);
    }

    [Fact]
    public void LlamaCppOffValuesAreAccepted()
    {
        var r = CliRunner.Run(Run("-n", "12", "--top-k", "0", "--top-p", "1", "--min-p", "0", "--repeat-penalty", "1", "--temp", "0", "--repeat-last-n", "-1", "-c", "0"));
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith(" upon a time", r.Stdout);
        // -n -1: until end of generation or the context is full (llama.cpp's "infinity").
        var all = CliRunner.Run(["run", "-m", Model, "-p", "Once", "-n", "-1", "--temp", "0", "-c", "64", "--ignore-eos"]);
        Assert.Equal(0, all.ExitCode);
        Assert.Contains("stop: context", all.Stderr);
        Assert.DoesNotContain("seed", all.Stderr);   // greedy: nothing random to repeat
    }

    [Fact]
    public void HelpCallsTheProgramSieve()
    {
        var root = CliRunner.Run(["--help"]);
        Assert.Equal(0, root.ExitCode);
        Assert.Contains("sieve [command] [options]", root.Stdout);
        Assert.DoesNotContain("Sieve.Cli", root.Stdout);
        var run = CliRunner.Run(["run", "--help"]);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("sieve run [options]", run.Stdout);
        Assert.DoesNotContain("Sieve.Cli", run.Stdout);
        var longctx = CliRunner.Run(["eval", "longctx", "-h"]);
        Assert.Contains("sieve eval longctx [options]", longctx.Stdout);
    }

    [Fact]
    public void UnknownOptionsAndMissingValuesAreOneLineToo()
    {
        foreach (var args in new[] { Run("--no-such-option"), new[] { "run", "-p", "x" }, Run("--temp") })
        {
            var r = CliRunner.Run(args);
            Assert.Equal(1, r.ExitCode);
            var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("error: ", line);
            Assert.DoesNotContain("Usage:", r.Stdout);
        }
    }
}
