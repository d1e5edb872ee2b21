using System.Text;
using System.Text.Json;

namespace Sieve.Analysis;

/// <summary>Writes decisions.json and a Markdown summary for one probe run.</summary>
public static class DecisionReport
{
    public static (string Json, string Markdown) Write(string outDir, string model, string task, int samples, DecisionCurves curves, double secondsPerSample,
        Eval.Tasks.McqRendering rendering = Eval.Tasks.McqRendering.Native)
    {
        Directory.CreateDirectory(outDir);
        var record = new Dictionary<string, object?>
        {
            ["model"] = model,
            ["task"] = task,
            ["n_samples"] = samples,
            ["readout"] = "option logit lens: final RMSNorm + LM-head rows of the option tokens, last prompt position",
            ["rendering"] = rendering.ToString().ToLowerInvariant(),
            ["transition_layer"] = curves.TransitionStaysPositive ?? curves.TransitionHalfAccuracy ?? curves.TransitionSharpestJump,
            ["transition_detectors"] = new Dictionary<string, object?>
            {
                ["margin_stays_positive"] = curves.TransitionStaysPositive,
                ["sharpest_margin_jump"] = curves.TransitionSharpestJump,
                ["half_accuracy_gain"] = curves.TransitionHalfAccuracy,
            },
            ["chance"] = curves.Chance,
            ["seconds_per_sample"] = secondsPerSample,
            ["layers"] = curves.Layers.Select(l => new Dictionary<string, object>
            {
                ["layer"] = l.Layer, ["margin"] = l.Margin, ["logit_margin"] = l.LogitMargin, ["accuracy"] = l.Accuracy,
                ["option_frequency"] = l.OptionFrequency,
            }).ToList(),
        };
        var json = Path.Combine(outDir, "decisions.json");
        File.WriteAllText(json, JsonSerializer.Serialize(record, new JsonSerializerOptions { WriteIndented = true }));

        var md = new StringBuilder();
        md.AppendLine($"# Decision read-out: {model} on {task}").AppendLine();
        md.AppendLine($"{samples} samples; layer 0 is the embedding, layer L the last block's output. Read-out: the option logit lens (final RMSNorm, then only the option tokens' LM-head rows).").AppendLine();
        md.AppendLine($"Transition layer — margin stays positive: {curves.TransitionStaysPositive?.ToString() ?? "never"}; sharpest margin jump: {curves.TransitionSharpestJump}; half the accuracy gain over chance: {curves.TransitionHalfAccuracy?.ToString() ?? "never"}.").AppendLine();
        md.AppendLine("| layer | mean margin | logit margin | read-out accuracy | option frequency |");
        md.AppendLine("|---|---|---|---|---|");
        foreach (var l in curves.Layers)
            md.AppendLine($"| {l.Layer} | {l.Margin:F4} | {l.LogitMargin:F3} | {l.Accuracy:P1} | {string.Join(" ", l.OptionFrequency.Select(kv => $"{kv.Key} {kv.Value:P0}"))} |");
        md.AppendLine().AppendLine("Data: [decisions.json](decisions.json)");
        var mdPath = Path.Combine(outDir, "summary.md");
        File.WriteAllText(mdPath, md.ToString());
        return (json, mdPath);
    }
}
