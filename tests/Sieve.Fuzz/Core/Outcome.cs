namespace Sieve.Fuzz.Core;

public enum Outcome
{
    /// <summary>Loaded (and ran a short generation or rendered every sample).</summary>
    Loaded,
    /// <summary>Refused with the project's own exception, naming the file.</summary>
    Refused,
    /// <summary>Any other exception, a violated invariant or a dead process.</summary>
    Crash,
    /// <summary>Took longer than the time limit.</summary>
    Hang,
    /// <summary>Allocated more than the memory limit while handling one input.</summary>
    BigAllocation,
}

/// <summary>What one input did. <see cref="Signature"/> groups crashes of one class (exception type + throwing Sieve frame).</summary>
public sealed record InputResult(Outcome Outcome, double Milliseconds, double AllocatedMiB, string? Signature = null, string? Detail = null)
{
    public bool Passed => Outcome is Outcome.Loaded or Outcome.Refused;
}
