using System.Diagnostics;

namespace Sieve.Tests.Cli;

/// <summary>Runs the real `sieve` (Sieve.Cli.dll beside the tests) in a child process.</summary>
public static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>A refusal as every command must give it: exit code 1 and one line on stderr, containing <paramref name="expected"/>.</summary>
    public static void AssertRefused(Result r, string expected)
    {
        Assert.Equal(1, r.ExitCode);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr, got: {r.Stderr}");
        Assert.Contains(expected, lines[0]);
    }

    public static Result Run(IEnumerable<string> args, IDictionary<string, string>? env = null, string? stdin = null, int timeoutMs = 120_000)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Sieve.Cli.dll");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            WorkingDirectory = Fixtures.RepoRoot,
        };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        psi.Environment["NO_COLOR"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin != null) p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(true);
            throw new TimeoutException($"sieve {string.Join(' ', args)} did not finish in {timeoutMs} ms");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
