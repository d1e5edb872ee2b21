using System.Diagnostics;
using Sieve.Formats;
using Sieve.Generation;

namespace Sieve.Fuzz.Core;

/// <summary>
/// Decides whether an exception is a clean refusal. Strict on purpose: the CLI prints any of the types in
/// src/Sieve.Cli/Commands/CliErrors.cs as one line, but an ArgumentException or IOException thrown by the BCL from
/// deep inside a parser prints a message that names no file, so it is a bug.
/// </summary>
public static class Oracle
{
    /// <summary>
    /// Refused cleanly: <see cref="ModelFileException"/> or <see cref="ContextLengthException"/> anywhere; one of
    /// CliErrors' other user-error types only when Sieve itself threw it (its top frame is Sieve code) and its
    /// message names one of the input's files or its folder.
    /// </summary>
    public static bool IsCleanRefusal(Exception e, string dir, FuzzInput input)
    {
        if (e is ModelFileException or ContextLengthException) return true;
        if (!IsCliUserErrorType(e)) return false;
        if (!ThrownBySieve(e)) return false;
        return e.Message.Contains(dir, StringComparison.Ordinal) || input.Files.Keys.Any(n => e.Message.Contains(n, StringComparison.Ordinal));
    }

    /// <summary>The types CliErrors.IsUserError accepts (kept in step with src/Sieve.Cli/Commands/CliErrors.cs).</summary>
    static bool IsCliUserErrorType(Exception e) => e is FileNotFoundException or DirectoryNotFoundException or NotSupportedException
        or ArgumentException or InvalidDataException or IOException or UnauthorizedAccessException or OperationCanceledException;

    static bool ThrownBySieve(Exception e)
    {
        var frame = new StackTrace(e, false).GetFrames().FirstOrDefault();
        return frame?.GetMethod()?.DeclaringType?.FullName?.StartsWith("Sieve.", StringComparison.Ordinal) == true
            && frame.GetMethod()!.DeclaringType!.Assembly == typeof(ModelFileException).Assembly;
    }

    /// <summary>
    /// A crash's class: the exception type and the innermost Sieve frame it passed through (a BCL frame alone would
    /// lump unrelated bugs together), e.g. "IndexOutOfRangeException at Sieve.Tokenization.Vocabulary..ctor".
    /// </summary>
    public static string Signature(Exception e)
    {
        if (e is InvariantViolation v) return $"invariant: {v.Kind}";
        var frames = new StackTrace(e, false).GetFrames();
        var sieve = frames.Select(f => f.GetMethod()).FirstOrDefault(m => m?.DeclaringType?.Assembly == typeof(ModelFileException).Assembly);
        string where = sieve == null ? "(no Sieve frame)" : $"{Outer(sieve.DeclaringType!).FullName}.{CleanName(sieve.Name)}";
        return $"{e.GetType().Name} at {where}";
    }

    /// <summary>Lambdas and iterators compile to nested types; name the type the code was written in.</summary>
    static Type Outer(Type t)
    {
        while (t.DeclaringType != null && t.Name.Contains('<')) t = t.DeclaringType;
        return t;
    }

    static string CleanName(string name) => name.StartsWith('<') && name.IndexOf('>') is int i and > 1 ? name[1..i] : name;
}
