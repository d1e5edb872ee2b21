using System.CommandLine;
using System.CommandLine.Invocation;

namespace Sieve.Cli.Commands;

/// <summary>
/// A command line that does not parse ends like every other bad input: one line <c>error: …</c> on stderr and exit
/// code 1, not System.CommandLine's error list followed by the whole help page on stdout.
/// </summary>
static class ParseErrors
{
    public static int Invoke(Command root, string[] args)
    {
        // No command at all: the command list, as git does, with git's exit code.
        if (args.Length == 0)
        {
            root.Parse(["--help"]).Invoke();
            return 1;
        }
        var result = root.Parse(args);
        if (result.Action is ParseErrorAction && result.Errors.Count > 0)
        {
            // The first error is the one to fix first; the others are usually its consequences.
            Console.Error.WriteLine($"error: {result.Errors[0].Message.ReplaceLineEndings(" ")}");
            return 1;
        }
        return result.Invoke();
    }
}
