using System.Diagnostics;

namespace Sieve.Fuzz.Core;

/// <summary>Runs one input through a format's target and classifies the result with the oracle and the limits.</summary>
public static class InputRunner
{
    public static InputResult Run(IFuzzFormat format, FuzzInput input, string dir)
    {
        input.WriteTo(dir);
        long before = GC.GetTotalAllocatedBytes(precise: false);
        var clock = Stopwatch.StartNew();
        Exception? error = null;
        try { format.Run(dir, input); }
        catch (Exception e) { error = e; }
        double ms = clock.Elapsed.TotalMilliseconds;
        double mib = (GC.GetTotalAllocatedBytes(precise: false) - before) / (1024.0 * 1024.0);

        if (error is OutOfMemoryException)
            return new InputResult(Outcome.BigAllocation, ms, mib, Oracle.Signature(error), error.ToString());
        if (mib * 1024 * 1024 > Limits.MaxAllocatedBytes)
            return new InputResult(Outcome.BigAllocation, ms, mib, $"allocated {mib:F0} MiB" + (error == null ? "" : $" then {Oracle.Signature(error)}"), error?.ToString());
        if (ms > Limits.HangMilliseconds)
            return new InputResult(Outcome.Hang, ms, mib, $"took {ms / 1000:F1} s" + (error == null ? "" : $" then {Oracle.Signature(error)}"), error?.ToString());
        if (error == null) return new InputResult(Outcome.Loaded, ms, mib);
        if (Oracle.IsCleanRefusal(error, dir, input)) return new InputResult(Outcome.Refused, ms, mib, Detail: error.Message);
        return new InputResult(Outcome.Crash, ms, mib, Oracle.Signature(error), error.ToString());
    }
}
