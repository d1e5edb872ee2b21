using Sieve.Models;
using Spectre.Console;

namespace Sieve.Cli.Commands;

/// <summary>Spectre output on stderr: progress bars must never mix into a command's stdout.</summary>
static class StderrConsole
{
    public static IAnsiConsole Instance { get; } = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });

    /// <summary>Pages the model in with a progress bar when stderr is a terminal; silently otherwise.</summary>
    public static void Load(SieveModel model)
    {
        if (Console.IsErrorRedirected)
        {
            WeightWarmer.Warm(model.Checkpoint.Weights);
            return;
        }
        Instance.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask($"loading {Path.GetFileName(model.Checkpoint.Path.TrimEnd('/'))}", maxValue: 1.0);
                WeightWarmer.Warm(model.Checkpoint.Weights, new Progress<double>(p => task.Value = p));
                task.Value = 1.0;
            });
    }
}
