namespace Sieve.Fuzz.Core;

/// <summary>
/// Thrown by a target when an input loaded but what came out is wrong (a sample whose gold answer is not among its
/// choices): a silent wrong answer is as much a bug as a stack trace. <see cref="Kind"/> is the crash class.
/// </summary>
public sealed class InvariantViolation(string kind, string detail) : Exception($"{kind}: {detail}")
{
    public string Kind { get; } = kind;
}
