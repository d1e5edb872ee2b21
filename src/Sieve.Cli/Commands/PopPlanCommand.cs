using System.CommandLine;
using Sieve.Models.Pop;

namespace Sieve.Cli.Commands;

/// <summary><c>sieve pop plan</c>: writes a POP plan file (the layers skipped in prefill) for <c>--pop-plan</c>.</summary>
static class PopPlanCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var output = new Option<string>("--out", "-o") { Description = "Plan file to write (JSON)", Required = true };
        var tokenizer = CommonOptions.Tokenizer();
        var pop = new PopArgs();
        var cmd = new Command("plan", "Write a POP plan: which layers prefill skips (--pop N [--pop-importance FILE], or --pop-layers), and the boundary") { model, output, tokenizer };
        foreach (var o in pop.All) cmd.Options.Add(o);
        cmd.SetAction(r => CliErrors.Guard(() =>
        {
            string path = r.GetValue(model)!;
            using var m = SieveModel.Load(path, new SieveModelOptions { Threads = 1, TokenizerPath = r.GetValue(tokenizer) });
            var plan = pop.Read(r, m.Config.LayerCount, PopArgs.ModelName(path))
                ?? throw new ArgumentException("give the layers to skip: --pop N (with --pop-importance FILE to rank them), --pop-layers or --pop-plan");
            PopPlanFile.Save(r.GetValue(output)!, plan);
            Console.Error.WriteLine($"sieve: {plan}; wrote {r.GetValue(output)}");
            return 0;
        }));
        return cmd;
    }
}
