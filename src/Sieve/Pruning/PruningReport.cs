using System.Text;
using System.Text.Json;

namespace Sieve.Pruning;

/// <summary>pruning.json and a Markdown table of accuracy versus layers removed, one curve per strategy.</summary>
public static class PruningReport
{
    public static (string Json, string Markdown) Write(string outDir, string model, string task, int samples, int? denseTransition,
        IReadOnlyDictionary<string, List<PruningStep>> curves, double seconds)
    {
        Directory.CreateDirectory(outDir);
        var record = new Dictionary<string, object?>
        {
            ["model"] = model, ["task"] = task, ["n_samples"] = samples, ["dense_transition_layer"] = denseTransition,
            ["score"] = "task accuracy from the last-layer read-out; ties by mean final Decision Margin, then lower layer index",
            ["seconds"] = seconds,
            ["strategies"] = curves.ToDictionary(kv => kv.Key, kv => kv.Value.Select(s => new Dictionary<string, object?>
            {
                ["removed"] = s.Removed, ["removed_layers"] = s.RemovedLayers, ["accuracy"] = s.Accuracy,
                ["final_margin"] = s.FinalMargin, ["transition_layer"] = s.TransitionLayer,
            }).ToList()),
        };
        var json = Path.Combine(outDir, "pruning.json");
        File.WriteAllText(json, JsonSerializer.Serialize(record, new JsonSerializerOptions { WriteIndented = true }));
        var md = new StringBuilder();
        md.AppendLine($"# Layer pruning: {model} on {task}").AppendLine();
        md.AppendLine($"{samples} samples. Dense transition layer: {denseTransition?.ToString() ?? "none"}.").AppendLine();
        foreach (var (name, steps) in curves)
        {
            md.AppendLine($"## {name}").AppendLine();
            md.AppendLine("| removed | layers | accuracy | final margin | transition |").AppendLine("|---|---|---|---|---|");
            foreach (var s in steps)
                md.AppendLine($"| {s.Removed} | {string.Join(",", s.RemovedLayers)} | {s.Accuracy:P1} | {s.FinalMargin:F4} | {s.TransitionLayer?.ToString() ?? "–"} |");
            md.AppendLine();
        }
        md.AppendLine("Data: [pruning.json](pruning.json)");
        var mdPath = Path.Combine(outDir, "pruning.md");
        File.WriteAllText(mdPath, md.ToString());
        return (json, mdPath);
    }
}
