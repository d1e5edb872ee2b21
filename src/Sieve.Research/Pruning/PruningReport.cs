using System.Text;
using System.Text.Json;

namespace Sieve.Pruning;

/// <summary>pruning.json and a Markdown table of accuracy versus layers removed, one curve per strategy.</summary>
public static class PruningReport
{
    public static (string Json, string Markdown) Write(string outDir, string model, string task, int samples, int? denseTransition,
        IReadOnlyDictionary<string, List<PruningStep>> curves, double seconds, IReadOnlyDictionary<string, object?>? settings = null)
    {
        Directory.CreateDirectory(outDir);
        var record = new Dictionary<string, object?>
        {
            ["model"] = model, ["task"] = task, ["n_samples"] = samples, ["dense_transition_layer"] = denseTransition,
            ["score"] = PruningCriterion.Accuracy.Describe(),
            ["seconds"] = seconds,
            ["strategies_note"] = "each strategy's list starts with the dense model; accuracy and margin are the last layer's read-out",
            ["strategies"] = curves.ToDictionary(kv => kv.Key, kv => kv.Value.Select(s => new Dictionary<string, object?>
            {
                ["removed"] = s.Removed, ["removed_layers"] = s.RemovedLayers, ["accuracy"] = s.Accuracy,
                ["final_margin"] = s.FinalMargin, ["transition_layer"] = s.TransitionLayer, ["calibration_nll"] = s.Nll,
            }).ToList()),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, object?>()) record[key] = value;
        var json = Path.Combine(outDir, "pruning.json");
        File.WriteAllText(json, JsonSerializer.Serialize(record, new JsonSerializerOptions { WriteIndented = true }));
        var md = new StringBuilder();
        md.AppendLine($"# Layer pruning: {model} on {task}").AppendLine();
        md.AppendLine($"{samples} samples. Dense transition layer: {denseTransition?.ToString() ?? "none"}. Iterative Pruning score: {record["score"]}.").AppendLine();
        bool nll = curves.Values.Any(c => c.Any(s => s.Nll != null));
        foreach (var (name, steps) in curves)
        {
            md.AppendLine($"## {name}").AppendLine();
            md.AppendLine("| removed | layers | accuracy | final margin | transition |" + (nll ? " calibration NLL |" : "")).AppendLine("|---|---|---|---|---|" + (nll ? "---|" : ""));
            foreach (var s in steps)
                md.AppendLine($"| {s.Removed} | {string.Join(",", s.RemovedLayers)} | {s.Accuracy:P1} | {s.FinalMargin:F4} | {s.TransitionLayer?.ToString() ?? "–"} |" + (nll ? $" {s.Nll:F4} |" : ""));
            md.AppendLine();
        }
        md.AppendLine("Data: [pruning.json](pruning.json)");
        var mdPath = Path.Combine(outDir, "pruning.md");
        File.WriteAllText(mdPath, md.ToString());
        return (json, mdPath);
    }
}
