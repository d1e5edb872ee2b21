using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sieve.Models.Pop;

/// <summary>
/// The plan file <c>sieve pop plan</c> writes and <c>--pop-plan</c> reads:
/// <c>{"format": "sieve-pop-plan", "version": 1, "model": "…", "layer_count": 32, "prefill_kv_only": [21, …],
/// "boundary": "full", "source": "…"}</c>. Loading checks it against the model: the layer count must match and every
/// layer must exist; a different model name is only noted (the same model converted keeps its layers).
/// </summary>
public static class PopPlanFile
{
    public const string Format = "sieve-pop-plan";

    public static void Save(string path, PopPlan plan)
    {
        var json = new JsonObject
        {
            ["format"] = Format,
            ["version"] = 1,
            ["model"] = plan.Model,
            ["layer_count"] = plan.LayerCount,
            ["prefill_kv_only"] = new JsonArray(plan.SkippedLayers.Select(l => (JsonNode)l).ToArray()),
            ["boundary"] = plan.Boundary.ToString().ToLowerInvariant(),
            ["source"] = plan.Source,
        };
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Reads a plan and checks it against a model of <paramref name="layerCount"/> layers.</summary>
    /// <param name="notice">Told when the plan was made for a model of another name.</param>
    public static PopPlan Load(string path, int layerCount, string? modelName = null, Action<string>? notice = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        string text = File.ReadAllText(path);
        string Bad(string why) => $"--pop-plan {path}: {why}";
        if (text.Trim().Length == 0) throw new InvalidDataException(Bad("the file is empty"));
        JsonNode? root;
        try { root = JsonNode.Parse(text); }
        catch (JsonException e) { throw new InvalidDataException(Bad($"not valid JSON ({e.Message.ReplaceLineEndings(" ")})")); }
        if (root is not JsonObject o) throw new InvalidDataException(Bad("expected a JSON object written by `sieve pop plan`"));
        if (o["format"]?.GetValueKind() != JsonValueKind.String || o["format"]!.GetValue<string>() != Format)
            throw new InvalidDataException(Bad($"not a POP plan (\"format\" must be \"{Format}\")"));
        if (Int(o["version"]) != 1) throw new InvalidDataException(Bad("unsupported version (this Sieve reads version 1)"));
        int count = Int(o["layer_count"]) ?? throw new InvalidDataException(Bad("\"layer_count\" is missing or not a whole number"));
        if (count != layerCount) throw new InvalidDataException(Bad($"made for a model of {count} layers; this model has {layerCount}"));
        if (o["prefill_kv_only"] is not JsonArray list) throw new InvalidDataException(Bad("\"prefill_kv_only\" (the layers skipped in prefill) is missing or not a list"));
        var layers = new List<int>();
        foreach (var item in list)
        {
            int l = Int(item) ?? throw new InvalidDataException(Bad($"\"prefill_kv_only\" holds {item?.ToJsonString() ?? "null"}, not a layer number"));
            if ((uint)l >= (uint)layerCount) throw new InvalidDataException(Bad($"layer {l} is outside the model's layers 0..{layerCount - 1}"));
            layers.Add(l);
        }
        if (layers.Count != layers.Distinct().Count()) throw new InvalidDataException(Bad("a layer is listed twice"));
        if (layers.Count >= layerCount) throw new InvalidDataException(Bad($"skips all {layerCount} layers in prefill; at least one must run"));
        var boundary = o["boundary"] is { } b
            ? (b.GetValueKind() == JsonValueKind.String ? b.GetValue<string>() : null) switch
            {
                "full" => PromptBoundary.Full,
                "none" => PromptBoundary.None,
                _ => throw new InvalidDataException(Bad($"\"boundary\" is {b.ToJsonString()}, not \"full\" or \"none\"")),
            }
            : PromptBoundary.Full;
        string? model = o["model"]?.GetValueKind() == JsonValueKind.String ? o["model"]!.GetValue<string>() : null;
        if (model != null && modelName != null && !string.Equals(model, modelName, StringComparison.Ordinal))
            notice?.Invoke($"notice: --pop-plan {path} was made for {model}; using it on {modelName} ({layerCount} layers in both)");
        string source = o["source"]?.GetValueKind() == JsonValueKind.String ? o["source"]!.GetValue<string>() : "";
        return new PopPlan(layerCount, layers) { Boundary = boundary, Model = model, Source = source.Length > 0 ? $"{Path.GetFileName(path)}: {source}" : Path.GetFileName(path) };
    }

    static int? Int(JsonNode? n) =>
        n?.GetValueKind() == JsonValueKind.Number && n.AsValue().TryGetValue(out int i) ? i
        : n?.GetValueKind() == JsonValueKind.Number && n.AsValue().TryGetValue(out double d) && d == Math.Floor(d) && Math.Abs(d) < int.MaxValue ? (int)d : null;
}
