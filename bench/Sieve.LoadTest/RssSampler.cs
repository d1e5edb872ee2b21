using System.Diagnostics;

namespace Sieve.LoadTest;

/// <summary>One reading of the server's resident memory.</summary>
/// <param name="Seconds">Seconds from the start of the run.</param>
/// <param name="RssKib">VmRSS from /proc/PID/status, in KiB.</param>
/// <param name="RequestsDone">Requests finished (any outcome) when it was read.</param>
public readonly record struct RssSample(double Seconds, long RssKib, int RequestsDone);

/// <summary>Reads a process's resident set size from /proc/PID/status once a second while the run lasts (Linux
/// only: the servers measured here run on Linux).</summary>
public sealed class RssSampler(int pid, Stopwatch runClock, Func<int> requestsDone)
{
    readonly List<RssSample> _samples = [];
    public IReadOnlyList<RssSample> Samples { get { lock (_samples) return [.. _samples]; } }

    /// <summary>VmRSS of <paramref name="pid"/> in KiB, or null when the process or the line is gone.</summary>
    public static long? ReadRssKib(int pid)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return null;
    }

    /// <summary>Takes one sample now; false when the process can no longer be read.</summary>
    public bool SampleNow()
    {
        if (ReadRssKib(pid) is not { } kib) return false;
        lock (_samples) _samples.Add(new RssSample(runClock.Elapsed.TotalSeconds, kib, requestsDone()));
        return true;
    }

    /// <summary>Samples every second until <paramref name="ct"/> is cancelled or the process goes away.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
                if (!SampleNow()) return;
        }
        catch (OperationCanceledException) { }
    }
}
