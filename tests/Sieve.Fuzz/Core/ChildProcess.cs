using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Sieve.Fuzz.Core;

/// <summary>
/// One run of a fuzz child: started under <see cref="Limits.ChildHeapHardLimit"/>, its "@@" lines turned into
/// callbacks, killed by the watchdog when an input has been running longer than the hang limit.
/// </summary>
public sealed class ChildProcess
{
    /// <summary>Slack over the hang limit for the pipe and a loaded machine; the child flags anything over 5 s itself.</summary>
    const int WatchdogSlackMs = 1000;
    /// <summary>Seeds are built and every seed loaded before "@@READY"; a busy two-core machine needs a while.</summary>
    const int StartupLimitMs = 180_000;

    public sealed record Result(int ExitCode, bool Ready, bool Done, long? Pending, bool KilledForHang, string StderrTail);

    public static Result Run(IEnumerable<string> args, Action<long, InputResult, string?> onEnd)
    {
        var psi = new ProcessStartInfo(DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(typeof(ChildProcess).Assembly.Location);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_GCHeapHardLimit"] = Limits.ChildHeapHardLimit;
        psi.Environment["DOTNET_gcServer"] = "0";

        var gate = new object();
        bool ready = false, done = false;
        long? pending = null;
        var begun = Stopwatch.StartNew();
        var stderr = new System.Text.StringBuilder();

        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not { } line || !line.StartsWith(ChildLoop.Prefix, StringComparison.Ordinal)) return;
            var f = line[ChildLoop.Prefix.Length..].Split('\t');
            lock (gate)
            {
                switch (f[0])
                {
                    case "READY": ready = true; begun.Restart(); break;
                    case "DONE": done = true; break;
                    case "B": pending = long.Parse(f[1], CultureInfo.InvariantCulture); begun.Restart(); break;
                    case "E":
                        pending = null;
                        var r = new InputResult(Enum.Parse<Outcome>(f[2]), double.Parse(f[3], CultureInfo.InvariantCulture), double.Parse(f[4], CultureInfo.InvariantCulture),
                            f[6] == "-" ? null : f[6], f[7] == "-" ? null : f[7].Replace('\u2028', '\n'));
                        onEnd(long.Parse(f[1], CultureInfo.InvariantCulture), r, f[5] == "-" ? null : f[5]);
                        break;
                }
            }
        };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (stderr) { stderr.AppendLine(e.Data); if (stderr.Length > 8000) stderr.Remove(0, stderr.Length - 8000); } };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        bool killed = false;
        while (!p.WaitForExit(100))
        {
            lock (gate)
            {
                bool hung = ready && pending != null && begun.ElapsedMilliseconds > Limits.HangMilliseconds + WatchdogSlackMs;
                bool stuck = !ready && begun.ElapsedMilliseconds > StartupLimitMs;
                if (hung || stuck)
                {
                    killed = hung;
                    try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                    break;
                }
            }
        }
        p.WaitForExit();
        if (killed || p.ExitCode != 0)   // a child that did not finish cannot clean its own work folder
        {
            try { Directory.Delete(Path.Combine(Path.GetTempPath(), "sieve-fuzz-work", p.Id.ToString(CultureInfo.InvariantCulture)), true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        lock (gate) lock (stderr)
            return new Result(p.ExitCode, ready, done, pending, killed, stderr.ToString());
    }

    /// <summary>The dotnet host running this process (a test host or apphost is not one), else the one on PATH.</summary>
    static string DotnetHost()
    {
        string exe = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "dotnet.exe" : "dotnet";
        if (Environment.ProcessPath is { } self && Path.GetFileName(self) == exe) return self;
        string fromRuntime = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", exe));
        return File.Exists(fromRuntime) ? fromRuntime : exe;
    }
}
