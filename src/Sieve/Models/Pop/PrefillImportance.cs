using System.Text.Json;

namespace Sieve.Models.Pop;

/// <summary>
/// Per-layer prefill importance read from the JSON <c>sieve pop importance</c> writes, for <c>--pop N
/// --pop-importance FILE</c> (the N lowest are skipped). The reader is tolerant of the layout, since only the prefill
/// number per layer matters here; it accepts
/// <list type="bullet">
/// <item><c>{"layers": [{"layer": 0, "prefill": 0.12, …}, …]}</c>, where "prefill" may also be an object holding
/// the number as "importance", "fisher", "taylor", "value" or "mean" (first found: for <c>sieve pop importance</c>'s
/// report that is the paper's I_l = ½·E[(∂L/∂g_l)²], the Fisher approximation), or a field "prefill_importance";</item>
/// <item><c>{"prefill": [0.12, …]}</c>, one number per layer.</item>
/// </list>
/// Anything else (no layers, a missing, duplicate or non-finite value) is refused with one line naming the file.
/// </summary>
public sealed record PrefillImportance(IReadOnlyList<double> Prefill, string Source)
{
    public int LayerCount => Prefill.Count;

    static readonly string[] ValueNames = ["importance", "fisher", "taylor", "value", "mean"];

    public static PrefillImportance Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        string text = File.ReadAllText(path);
        if (text.Trim().Length == 0) throw new InvalidDataException($"--pop-importance {path}: the file is empty");
        try
        {
            return Parse(text, Path.GetFileName(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"--pop-importance {path}: not valid JSON ({e.Message.ReplaceLineEndings(" ")})");
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"--pop-importance {path}: {e.Message}");
        }
    }

    /// <summary>Reads the JSON text; <paramref name="source"/> names it in <see cref="PopPlan.Source"/>.</summary>
    public static PrefillImportance Parse(string json, string source)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException("expected a JSON object with per-layer prefill importance");
        double[] values;
        if (root.TryGetProperty("layers", out var layers) && layers.ValueKind == JsonValueKind.Array) values = FromLayers(layers);
        else if (root.TryGetProperty("prefill", out var prefill) && prefill.ValueKind == JsonValueKind.Array)
            values = prefill.EnumerateArray().Select((e, i) => Number(e, $"prefill[{i}]")).ToArray();
        else throw new InvalidDataException("no per-layer prefill importance (expected \"layers\": [{\"layer\", \"prefill\"}, …] or \"prefill\": [numbers])");
        if (values.Length == 0) throw new InvalidDataException("the importance lists no layers");
        foreach (var key in new[] { "layer_count", "n_layers" })
            if (root.TryGetProperty(key, out var n) && n.ValueKind == JsonValueKind.Number && n.GetInt32() != values.Length)
                throw new InvalidDataException($"\"{key}\" is {n.GetInt32()} but {values.Length} layers are listed");
        return new PrefillImportance(values, source);
    }

    static double[] FromLayers(JsonElement layers)
    {
        var entries = layers.EnumerateArray().ToArray();
        var values = new double?[entries.Length];
        for (int i = 0; i < entries.Length; i++)
        {
            var e = entries[i];
            if (e.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"layers[{i}] is not an object");
            int layer = i;
            if (e.TryGetProperty("layer", out var l))
            {
                if (l.ValueKind != JsonValueKind.Number || !l.TryGetInt32(out layer)) throw new InvalidDataException($"layers[{i}].layer is not a layer number");
                if ((uint)layer >= (uint)entries.Length) throw new InvalidDataException($"layers[{i}] names layer {layer}, outside 0..{entries.Length - 1}");
            }
            if (values[layer] != null) throw new InvalidDataException($"layer {layer} is listed twice");
            values[layer] = PrefillOf(e, $"layer {layer}");
        }
        return values.Select(v => v!.Value).ToArray();
    }

    static double PrefillOf(JsonElement layer, string where)
    {
        if (layer.TryGetProperty("prefill", out var p))
        {
            if (p.ValueKind == JsonValueKind.Number) return Number(p, $"{where} prefill");
            if (p.ValueKind == JsonValueKind.Object)
            {
                foreach (var name in ValueNames)
                    if (p.TryGetProperty(name, out var v)) return Number(v, $"{where} prefill.{name}");
                throw new InvalidDataException($"{where}: \"prefill\" holds none of {string.Join(", ", ValueNames)}");
            }
            throw new InvalidDataException($"{where}: \"prefill\" is neither a number nor an object");
        }
        if (layer.TryGetProperty("prefill_importance", out var pi)) return Number(pi, $"{where} prefill_importance");
        throw new InvalidDataException($"{where} has no \"prefill\" importance");
    }

    static double Number(JsonElement e, string where) =>
        e.ValueKind == JsonValueKind.Number && e.GetDouble() is var d && double.IsFinite(d) ? d
            : throw new InvalidDataException($"{where} is not a finite number");
}
