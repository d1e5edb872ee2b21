using System.CommandLine;
using Sieve.Models.Pop;
using Sieve.Pop;

namespace Sieve.Cli.Commands;

/// <summary><c>sieve pop plan</c>: writes a POP plan file (the layers skipped in prefill) for <c>--pop-plan</c>.</summary>
static class PopPlanCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var output = new Option<string>("--out", "-o") { Description = "Plan file to write (JSON)", Required = true };
        var tokenizer = CommonOptions.Tokenizer();
        var decisions = new Option<string?>("--from-decisions") { Description = "Place the cut in the Decisive Phase of this decisions.json (`sieve analyze decisions`): skip the blocks whose output lies in it, or its last N with --pop N" };
        var pop = new PopArgs();
        var cmd = new Command("plan", "Write a POP plan: which layers prefill skips (--pop N [--pop-importance FILE], --pop-layers, or --from-decisions FILE [--pop N]), and the boundary") { model, output, tokenizer, decisions };
        foreach (var o in pop.All) cmd.Options.Add(o);
        cmd.SetAction(r => CliErrors.Guard(() =>
        {
            string path = r.GetValue(model)!;
            using var m = SieveModel.Load(path, new SieveModelOptions { Threads = 1, TokenizerPath = r.GetValue(tokenizer) });
            var plan = r.GetValue(decisions) is string d ? FromDecisions(r, pop, d, m.Config.LayerCount, PopArgs.ModelName(path))
                : pop.Read(r, m.Config.LayerCount, PopArgs.ModelName(path)) ?? throw new ArgumentException("give the layers to skip: --pop N (with --pop-importance FILE to rank them), --pop-layers or --pop-plan");
            PopPlanFile.Save(r.GetValue(output)!, plan);
            Console.Error.WriteLine($"sieve: {plan}; wrote {r.GetValue(output)}");
            return 0;
        }));
        return cmd;
    }

    /// <summary>The plan of <see cref="DecisivePhasePlan"/>: --pop N caps it; the other ways to name layers conflict with it.</summary>
    static PopPlan FromDecisions(ParseResult r, PopArgs pop, string path, int layerCount, string modelName)
    {
        if (r.GetValue(pop.Layers) != null || r.GetValue(pop.PlanFile) != null || r.GetValue(pop.Importance) != null)
            throw new ArgumentException("--from-decisions: give no --pop-layers, --pop-plan or --pop-importance with it (only --pop N, the most blocks to skip)");
        string? boundary = r.GetValue(pop.Boundary);
        var plan = DecisivePhasePlan.Load(path, layerCount).Plan(r.GetValue(pop.Pop), Path.GetFileName(path)) with { Model = modelName };
        return boundary switch
        {
            null or "full" => plan,
            "none" => plan with { Boundary = Models.PromptBoundary.None },
            _ => throw new ArgumentException($"--pop-boundary: '{boundary}' is not full or none"),
        };
    }
}
