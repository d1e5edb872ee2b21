using System.CommandLine;

namespace Sieve.Cli.Commands;

/// <summary><c>sieve sparsity</c>: activation-sparsity tools (CATS, CHESS, CHESS+, TEAL).</summary>
static class SparsityCommand
{
    public static Command Create() => new("sparsity", "Activation sparsity (CATS, CHESS, CHESS+, TEAL): calibrate thresholds, sweep accuracy against speed")
    {
        SparsityCalibrateCommand.Create(),
        SparsitySweepCommand.Create(),
    };
}
