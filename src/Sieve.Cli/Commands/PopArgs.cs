using System.CommandLine;
using Sieve.Models;
using Sieve.Models.Pop;

namespace Sieve.Cli.Commands;

/// <summary>
/// The POP options every command that runs a model shares (prefill-only pruning): which layers prefill runs KvOnly,
/// given as a count (--pop, optionally ranked by --pop-importance), a list (--pop-layers) or a plan file (--pop-plan),
/// and how the prompt's last token is run (--pop-boundary).
/// </summary>
sealed class PopArgs
{
    public readonly Option<int?> Pop = new Option<int?>("--pop")
    {
        Description = "POP: skip N layers in prefill (K/V still projected; decode runs every layer): the N with the lowest prefill importance with --pop-importance, else the last N",
    }.AtLeast(0, "must be a whole number of layers, 0 or more");
    public readonly Option<string?> Layers = new("--pop-layers") { Description = "POP: the layers skipped in prefill, as numbers and ranges (18-27 or 3,5,7-9)" };
    public readonly Option<string?> PlanFile = new("--pop-plan") { Description = "POP: a plan file written by `sieve pop plan`" };
    public readonly Option<string?> Importance = new("--pop-importance") { Description = "POP: the JSON of `sieve pop importance`; --pop N then skips the N layers (never layer 0) of lowest prefill importance" };
    public readonly Option<string?> Boundary = new("--pop-boundary")
    {
        Description = "POP: full (default): the prompt's last token runs through every layer as the first decode row; none: the whole prompt through the pruned prefill (ShortGPT-gen, an ablation)",
    };

    public IEnumerable<Option> All => [Pop, Layers, PlanFile, Importance, Boundary];

    /// <summary>The plan the options ask for, checked against the model; null when no POP option was given.</summary>
    public PopPlan? Read(ParseResult r, int layerCount, string? modelName)
    {
        int? count = r.GetValue(Pop);
        string? layers = r.GetValue(Layers), file = r.GetValue(PlanFile), importance = r.GetValue(Importance), boundaryText = r.GetValue(Boundary);
        int given = (count != null ? 1 : 0) + (layers != null ? 1 : 0) + (file != null ? 1 : 0);
        if (given > 1) throw new ArgumentException("give at most one of --pop, --pop-layers and --pop-plan");
        if (importance != null && count == null) throw new ArgumentException("--pop-importance: give --pop N too (how many of the least important layers to skip)");
        PromptBoundary? boundary = boundaryText switch
        {
            null => null,
            "full" => PromptBoundary.Full,
            "none" => PromptBoundary.None,
            _ => throw new ArgumentException($"--pop-boundary: '{boundaryText}' is not full or none"),
        };
        if (given == 0)
        {
            if (boundary != null) throw new ArgumentException("--pop-boundary: give a POP plan too (--pop, --pop-layers or --pop-plan)");
            return null;
        }
        PopPlan plan;
        if (file != null) plan = PopPlanFile.Load(file, layerCount, modelName, Console.Error.WriteLine);
        else if (layers != null) plan = PopPlan.FromLayerList(layerCount, layers);
        else if (importance != null)
        {
            var imp = PrefillImportance.Load(importance);
            if (imp.LayerCount != layerCount)
                throw new ArgumentException($"--pop-importance {importance}: it lists {imp.LayerCount} layers; the model has {layerCount}");
            plan = PopPlan.LowestImportance(imp, count!.Value);
        }
        else plan = PopPlan.LastLayers(layerCount, count!.Value);
        return plan with { Boundary = boundary ?? plan.Boundary, Model = plan.Model ?? modelName };
    }

    /// <summary><see cref="Read"/>, as the request's forward options (null when no POP option was given), with a note on stderr.</summary>
    public ForwardOptions? Forward(ParseResult r, int layerCount, string? modelName)
    {
        if (Read(r, layerCount, modelName) is not { } plan) return null;
        Console.Error.WriteLine($"sieve: {plan}");
        return plan.Apply();
    }

    /// <summary>The file or folder name a plan records as its model.</summary>
    public static string ModelName(string path) => Path.GetFileName(path.TrimEnd('/', '\\'));
}
