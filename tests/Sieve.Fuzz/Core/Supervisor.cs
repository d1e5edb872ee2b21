using System.Diagnostics;
using System.Globalization;

namespace Sieve.Fuzz.Core;

/// <summary>
/// The parent side of a run: for each format, starts children until the iterations or the time budget are used up,
/// restarting one after a hang (killed by the watchdog), a death (stack overflow, fail-fast) or an out-of-memory
/// error. The input a child was on when it hung or died is rebuilt here from (seed, format, i) and saved.
/// </summary>
public static class Supervisor
{
    public sealed record Options(IReadOnlyList<string> Formats, long Iterations, int Seed, string OutDir, double SecondsPerFormat, string? Repo);

    public static List<FormatCounts> Fuzz(Options o, TextWriter log)
    {
        var all = new List<FormatCounts>();
        foreach (var name in o.Formats)
        {
            var format = FormatRegistry.Get(name);
            var counts = new FormatCounts(name);
            all.Add(counts);
            long next = 0;
            var clock = Stopwatch.StartNew();
            while (next < o.Iterations)
            {
                double left = o.SecondsPerFormat > 0 ? o.SecondsPerFormat - clock.Elapsed.TotalSeconds : 0;
                if (o.SecondsPerFormat > 0 && left <= 0) break;
                var args = new List<string> { "--child", "--format", name, "--seed", o.Seed.ToString(CultureInfo.InvariantCulture),
                    "--start", next.ToString(CultureInfo.InvariantCulture), "--iterations", o.Iterations.ToString(CultureInfo.InvariantCulture),
                    "--seconds-per-format", left.ToString("R", CultureInfo.InvariantCulture), "--out", o.OutDir };
                if (o.Repo != null) args.AddRange(["--repo", o.Repo]);
                var r = ChildProcess.Run(args, (i, result, saved) => { counts.Add(result, saved); next = i + 1; if (counts.Inputs % 100_000 == 0) log.WriteLine($"{name}: {counts.Inputs} inputs, {counts.Failures} failures"); });
                if (!r.Ready) throw new InvalidOperationException($"the {name} fuzz child did not start (exit {r.ExitCode}):\n{r.StderrTail}");
                if (r.Pending is long p)
                {
                    var input = Iterations.Input(format, o.Seed, p);
                    var result = Lost(r);
                    counts.Add(result, CrashStore.Save(o.OutDir, format, p, input, result));
                    log.WriteLine($"{name}: input {p} {(r.KilledForHang ? "hung" : "killed the process")}; restarting");
                    next = p + 1;
                    continue;
                }
                if (r.Done) break;
                if (r.ExitCode != ChildLoop.RestartExitCode) throw new InvalidOperationException($"the {name} fuzz child failed (exit {r.ExitCode}):\n{r.StderrTail}");
            }
        }
        return all;
    }

    /// <summary>Replays every committed regression case in a child (a case may hang); one result per case.</summary>
    public static List<(RegressionCase Case, InputResult Result)> Replay(string root, string outDir, string? repo)
    {
        var cases = RegressionCase.Load(root);
        var results = new InputResult?[cases.Count];
        long next = 0;
        while (next < cases.Count)
        {
            var args = new List<string> { "--child", "--replay", root, "--start", next.ToString(CultureInfo.InvariantCulture), "--out", outDir };
            if (repo != null) args.AddRange(["--repo", repo]);
            var r = ChildProcess.Run(args, (i, result, _) => { results[i] = result; next = i + 1; });
            if (!r.Ready) throw new InvalidOperationException($"the replay child did not start (exit {r.ExitCode}):\n{r.StderrTail}");
            if (r.Pending is long p) { results[p] = Lost(r); next = p + 1; continue; }
            if (r.Done) break;
            if (r.ExitCode != ChildLoop.RestartExitCode) throw new InvalidOperationException($"the replay child failed (exit {r.ExitCode}):\n{r.StderrTail}");
        }
        return cases.Select((c, i) => (c, results[i] ?? new InputResult(Outcome.Crash, 0, 0, "not run"))).ToList();
    }

    static InputResult Lost(ChildProcess.Result r) => r.KilledForHang
        ? new InputResult(Outcome.Hang, Limits.HangMilliseconds, 0, $"no answer within {Limits.HangMilliseconds / 1000} s", "the watchdog killed the process")
        : new InputResult(Outcome.Crash, 0, 0, $"process died (exit code {r.ExitCode})", r.StderrTail);
}
