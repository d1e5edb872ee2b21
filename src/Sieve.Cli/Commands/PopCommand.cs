using System.CommandLine;

namespace Sieve.Cli.Commands;

/// <summary><c>sieve pop</c>: POP (prefill-only pruning) tools.</summary>
static class PopCommand
{
    public static Command Create() => new("pop", "POP, prefill-only pruning: stage-wise layer importance and plans")
    {
        PopImportanceCommand.Create(),
        PopPlanCommand.Create(),
        PopEvalCommand.Create(),
    };
}
