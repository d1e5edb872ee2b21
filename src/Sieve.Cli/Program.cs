using System.CommandLine;
using Sieve.Cli.Commands;

var root = new RootCommand("Sieve: run, study and speed up Llama-family models on CPU")
{
    RunCommand.Create(),
    ChatCommand.Create(),
    InfoCommand.Create(),
    BenchCommand.Create(),
    ConvertCommand.Create(),
    SelfTestCommand.Create(),
    EvalCommand.Create(),
    AnalyzeCommand.Create(),
    PruneCommand.Create(),
    PerplexityCommand.Create(),
};
return root.Parse(args).Invoke();
