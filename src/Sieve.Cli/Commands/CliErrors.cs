using Sieve.Formats;
using Sieve.Generation;

namespace Sieve.Cli.Commands;

/// <summary>Turns expected failures into one line on stderr and exit code 1: never a stack trace for bad input.</summary>
static class CliErrors
{
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (IsUserError(e))
        {
            Console.Out.Flush();
            Console.Error.WriteLine($"error: {Describe(e)}");
            return 1;
        }
    }

    static bool IsUserError(Exception e) => e is ModelFileException or ContextLengthException or FileNotFoundException
        or DirectoryNotFoundException or NotSupportedException or ArgumentException or InvalidDataException or IOException
        or UnauthorizedAccessException or OperationCanceledException;

    static string Describe(Exception e) => e switch
    {
        FileNotFoundException f when f.FileName != null => $"{f.FileName}: file not found",
        _ => e.Message.ReplaceLineEndings(" "),
    };
}
