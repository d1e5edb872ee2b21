using System.CommandLine;
using System.CommandLine.Help;
using Sieve.Cli.Commands;

// The root is named "sieve" (what the ./sieve wrapper and help show), not the assembly's file name; RootCommand
// would take Sieve.Cli from the entry assembly, so the root is a plain command given the options RootCommand adds.
var root = new Command("sieve", "Sieve: run, study and speed up Llama-family models on CPU")
{
    new HelpOption(),
    new VersionOption(),
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
    PopCommand.Create(),
    SparsityCommand.Create(),
    A2atsCommand.Create(),
    ServeCommand.Create(),
};
OptionRange.ApplyDefaults(root);
return ParseErrors.Invoke(root, args);
