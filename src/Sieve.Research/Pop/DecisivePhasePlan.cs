using System.Text.Json;
using System.Text.Json.Nodes;
using Sieve.Models.Pop;

namespace Sieve.Pop;

/// <summary>
/// A POP plan placed by the decision-transition analysis (<c>sieve analyze decisions</c>): its decisions.json reads the
/// model's multiple-choice decision after every block ("layers": read-out 0 = the embeddings, read-out L = the last
/// block's output) and names the read-out where the Silent phase turns Decisive ("transition_layer", T).
/// </summary>
/// <remarks>
/// The rule: skip in prefill the blocks whose output lies in the Decisive Phase, blocks max(T − 1, 1) .. L − 1 (block
/// T − 1 is the one whose output first carries the decision; block 0 always runs). Their work there is the read-out of
/// the current token's answer, which no prefill row needs: the boundary row (the prompt's last token) and every
/// generated token still run them. With <c>--pop N</c> the cut moves deeper: the last N of those blocks, so it stays
/// inside the phase. When T = L the phase holds one block, the last, which is also the block POP skips exactly (its prefill output feeds only logits no prefill row needs).
/// On stories260K (story-questions) all three detectors put T at 5 = L: the plan is block 4 only.
/// </remarks>
public sealed record DecisivePhasePlan(int Transition, string Detector, int LayerCount)
{
    /// <summary>The first block inside the Decisive Phase (never block 0).</summary>
    public int FirstBlock => Math.Clamp(Transition - 1, 1, LayerCount - 1);

    public int PhaseBlocks => LayerCount - FirstBlock;

    /// <summary>The plan: the phase's blocks, or its last <paramref name="cap"/> when that is fewer.</summary>
    public PopPlan Plan(int? cap, string source)
    {
        if (cap is < 1) throw new ArgumentException($"--pop {cap}: with --from-decisions give 1 or more (the most blocks of the Decisive Phase to skip)");
        int n = Math.Min(cap ?? PhaseBlocks, PhaseBlocks);
        return new PopPlan(LayerCount, Enumerable.Range(LayerCount - n, n))
            { Source = $"Decisive Phase of {source}: transition at read-out {Transition} ({Detector}), blocks {LayerList.Format(Enumerable.Range(FirstBlock, PhaseBlocks).ToArray())}{(n < PhaseBlocks ? $", last {n}" : "")}" };
    }

    /// <summary>Reads decisions.json and checks it against a model of <paramref name="layerCount"/> blocks; a bad file is one line naming it.</summary>
    public static DecisivePhasePlan Load(string path, int layerCount)
    {
        string Bad(string why) => $"--from-decisions {path}: {why}";
        if (!File.Exists(path)) throw new FileNotFoundException($"--from-decisions {path}: file not found");   // no FileName: the CLI then prints the message, which names the option
        string text = File.ReadAllText(path);
        if (text.Trim().Length == 0) throw new InvalidDataException(Bad("the file is empty"));
        JsonNode? root;
        try { root = JsonNode.Parse(text); }
        catch (JsonException e) { throw new InvalidDataException(Bad($"not valid JSON ({e.Message.ReplaceLineEndings(" ")})")); }
        if (root is not JsonObject o || o["layers"] is not JsonArray layers)
            throw new InvalidDataException(Bad("not a decisions.json of `sieve analyze decisions` (no \"layers\" list)"));
        if (layers.Count != layerCount + 1)
            throw new InvalidDataException(Bad($"it reads {layers.Count} layers (the embeddings and {layers.Count - 1} blocks); this model has {layerCount} blocks"));
        string detector = "transition_layer";
        int? t = Int(o["transition_layer"]);
        if (t == null && o["transition_detectors"] is JsonObject d)
            foreach (var name in new[] { "margin_stays_positive", "half_accuracy_gain", "sharpest_margin_jump" })
                if (Int(d[name]) is int v) { t = v; detector = name; break; }
        if (t == null) throw new InvalidDataException(Bad("no transition layer (\"transition_layer\" missing or not a whole number)"));
        if (t < 0 || t > layerCount) throw new InvalidDataException(Bad($"transition layer {t} is outside the read-outs 0..{layerCount}"));
        return new DecisivePhasePlan(t.Value, detector, layerCount);
    }

    static int? Int(JsonNode? n) =>
        n?.GetValueKind() == JsonValueKind.Number && n.AsValue().TryGetValue(out int i) ? i : null;
}
