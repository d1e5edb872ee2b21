using System.Diagnostics;
using System.Globalization;

namespace Sieve.Fuzz.Core;

/// <summary>
/// The fuzz loop inside the child process (started by <see cref="Supervisor"/> under a hard heap limit). It talks
/// to the parent through lines on stdout: "@@READY" once the seeds load, "@@B i" before input i, "@@E i ..." after,
/// "@@DONE" at the end. Crashing inputs are saved by the child (it holds them); hangs and deaths by the parent.
/// </summary>
public static class ChildLoop
{
    public const string Prefix = "@@";
    /// <summary>Exit code asking the parent for a fresh process (after an OutOfMemoryException the heap may be unusable).</summary>
    public const int RestartExitCode = 3;
    public const int SeedFailureExitCode = 2;

    static readonly TextWriter Out = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true };

    static void Send(string line) => Out.WriteLine(Prefix + line);

    static string WorkDir()
    {
        string d = Path.Combine(Path.GetTempPath(), "sieve-fuzz-work", Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(d);
        return d;
    }

    public static int Fuzz(IFuzzFormat format, int seed, long start, long end, double seconds, string outDir)
    {
        string work = WorkDir();
        try
        {
            foreach (var s in format.Seeds)
            {
                var r = InputRunner.Run(format, s, work);
                if (r.Outcome != Outcome.Loaded)
                {
                    Console.Error.WriteLine($"seed '{s.Seed}' of {format.Name} does not load: {r.Outcome} {r.Signature}\n{r.Detail}");
                    return SeedFailureExitCode;
                }
            }
            Send("READY");
            var clock = Stopwatch.StartNew();
            for (long i = start; i < end && (seconds <= 0 || clock.Elapsed.TotalSeconds < seconds); i++)
            {
                var input = Iterations.Input(format, seed, i);
                if (!RunOne(format, i, input, work, outDir)) return RestartExitCode;
            }
            Send("DONE");
            return 0;
        }
        finally { TryDelete(work); }
    }

    public static int Replay(string root, long start, string outDir)
    {
        string work = WorkDir();
        try
        {
            var cases = RegressionCase.Load(root);
            Send("READY");
            for (long i = start; i < cases.Count; i++)
            {
                var c = cases[(int)i];
                var format = FormatRegistry.Get(c.Format);
                if (!RunOne(format, i, c.Input(format), work, outDir)) return RestartExitCode;
            }
            Send("DONE");
            return 0;
        }
        finally { TryDelete(work); }
    }

    /// <returns>False when the process should be replaced.</returns>
    static bool RunOne(IFuzzFormat format, long i, FuzzInput input, string work, string outDir)
    {
        Send($"B\t{i}");
        var r = InputRunner.Run(format, input, work);
        string? saved = r.Passed || outDir.Length == 0 ? null : CrashStore.Save(outDir, format, i, input, r);
        Send(string.Join('\t', "E", i, r.Outcome, r.Milliseconds.ToString("F2", CultureInfo.InvariantCulture),
            r.AllocatedMiB.ToString("F2", CultureInfo.InvariantCulture), saved ?? "-", OneLine(r.Signature ?? "-"), OneLine(r.Detail ?? "-")));
        return !(r.Detail?.Contains(nameof(OutOfMemoryException)) ?? false);
    }

    static string OneLine(string s)
    {
        s = s.Replace('\t', ' ').Replace('\r', ' ').Replace('\n', '\u2028');
        return s.Length > 4000 ? s[..4000] : s;
    }

    static void TryDelete(string d)
    {
        try { Directory.Delete(d, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
