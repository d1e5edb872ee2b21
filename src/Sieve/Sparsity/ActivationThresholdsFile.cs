using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sieve.Formats;

namespace Sieve.Sparsity;

/// <summary>
/// The thresholds file <c>sieve sparsity calibrate</c> writes and <c>--sparsity-file</c> reads:
/// <code>
/// {"format": "sieve-activation-thresholds", "version": 1, "method": "chess+", "model": "stories260K.gguf",
///  "shape": {"layers": 5, "dim": 64, "q_dim": 64, "ffn": 172},
///  "target_sparsity": [0.5, 0.5, 0.5, 0.5, 0.5],
///  "calibration": {"sha256": "…", "tokens": 65536},
///  "layers": [{"layer": 0, "q_input": 0.21, "o_input": 0.05, "gate_channels": [0.013, …]}, …]}
/// </code>
/// A layer lists only the sites its method thresholds (<see cref="SparsityMethods.Sites"/>); a missing site is 0
/// (dense). CATS writes <c>gate</c>, one threshold for the layer; CHESS and CHESS+ write <c>gate_channels</c>, one per
/// FFN channel (float.MaxValue for a channel whose up projection was always 0: it is always dropped, which changes
/// nothing). Loading treats the file as untrusted: every problem is an <see cref="InvalidDataException"/> naming the
/// file and what is wrong. Whether the shape fits a model is checked where it is applied
/// (<see cref="ActivationThresholds.Validate(Models.ModelConfig)"/>).
/// </summary>
public static class ActivationThresholdsFile
{
    public const string Format = "sieve-activation-thresholds";
    public const int Version = 1;

    /// <summary>The JSON key of each scalar site in a layer object.</summary>
    public static string Key(SparseSite site) => site switch
    {
        SparseSite.QInput => "q_input",
        SparseSite.QkvInput => "qkv_input",
        SparseSite.OInput => "o_input",
        SparseSite.FfnInput => "ffn_input",
        SparseSite.DownInput => "down_input",
        SparseSite.Gate => "gate",
        _ => throw new ArgumentOutOfRangeException(nameof(site)),
    };

    const string GateChannelsKey = "gate_channels";

    /// <summary>Writes <paramref name="t"/> to <paramref name="path"/> atomically (a failure leaves no half-written file).</summary>
    public static void Save(string path, ActivationThresholds t)
    {
        t.Validate();
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        AtomicFile.Write(path, stream =>
        {
            using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteNumber("version", Version);
            w.WriteString("method", t.Method.Name());
            if (t.Model != null) w.WriteString("model", t.Model);
            w.WriteStartObject("shape");
            w.WriteNumber("layers", t.LayerCount);
            w.WriteNumber("dim", t.Dim);
            w.WriteNumber("q_dim", t.QDim);
            w.WriteNumber("ffn", t.FfnDim);
            w.WriteEndObject();
            w.WritePropertyName("target_sparsity");
            w.WriteRawValue(Compact(t.TargetSparsity));
            w.WriteStartObject("calibration");
            if (t.CalibrationSha256 != null) w.WriteString("sha256", t.CalibrationSha256);
            w.WriteNumber("tokens", t.CalibrationTokens);
            w.WriteEndObject();
            w.WriteStartArray("layers");
            var sites = t.Method.Sites();
            for (int l = 0; l < t.LayerCount; l++)
            {
                var lt = t.Layers[l];
                w.WriteStartObject();
                w.WriteNumber("layer", l);
                foreach (var site in sites)
                {
                    if (site == SparseSite.Gate && lt.GateChannels != null) continue;
                    w.WritePropertyName(Key(site));
                    w.WriteRawValue(Number(lt.Scalar(site)));
                }
                if (lt.GateChannels is { } g)
                {
                    // One line per layer, not one per channel: an 8B model has 32 × 14,336 of them.
                    w.WritePropertyName(GateChannelsKey);
                    w.WriteRawValue(Compact(g));
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.Flush();
            stream.WriteByte((byte)'\n');
        });
    }

    /// <summary>The shortest text that reads back as the same float ("R": 0.1f is "0.1", not 0.100000001).</summary>
    static string Number(float v) => v.ToString("R", CultureInfo.InvariantCulture);

    static string Compact(float[] values)
    {
        var sb = new StringBuilder(values.Length * 12 + 2).Append('[');
        for (int i = 0; i < values.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(Number(values[i]));
        }
        return sb.Append(']').ToString();
    }

    /// <summary>Reads and checks a thresholds file (not yet against a model).</summary>
    public static ActivationThresholds Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        string text = File.ReadAllText(path);
        InvalidDataException Bad(string why) => new($"thresholds file {path}: {why}");
        if (text.Trim().Length == 0) throw Bad("the file is empty");
        JsonNode? root;
        try { root = JsonNode.Parse(text); Touch(root); }
        catch (JsonException e) { throw Bad($"not valid JSON ({e.Message.ReplaceLineEndings(" ")})"); }
        catch (ArgumentException e) { throw Bad($"not valid JSON ({e.Message.ReplaceLineEndings(" ")})"); }   // a key given twice
        if (root is not JsonObject o) throw Bad("expected a JSON object written by `sieve sparsity calibrate`");
        if (Str(o["format"]) != Format) throw Bad($"not a thresholds file (\"format\" must be \"{Format}\")");
        int version = Int(o["version"]) ?? throw Bad("\"version\" is missing or not a whole number");
        if (version != Version) throw Bad($"unsupported version {version} (this Sieve reads version {Version})");
        string methodName = Str(o["method"]) ?? throw Bad("\"method\" is missing or not a string");
        if (!SparsityMethods.TryParse(methodName, out var method)) throw Bad($"unknown method \"{methodName}\" (cats, chess, chess+ or teal)");
        if (o["model"] is { } mn && Str(mn) == null) throw Bad("\"model\" is not a string");
        string? model = Str(o["model"]);

        if (o["shape"] is not JsonObject shape) throw Bad("\"shape\" (layers, dim, q_dim, ffn) is missing or not an object");
        int Size(string key) => Int(shape[key]) is int v && v > 0 ? v : throw Bad($"\"shape\": \"{key}\" is missing or not a whole number ≥ 1");
        int layers = Size("layers"), dim = Size("dim"), qDim = Size("q_dim"), ffn = Size("ffn");

        if (o["target_sparsity"] is not JsonArray targets) throw Bad("\"target_sparsity\" (one per layer) is missing or not a list");
        if (targets.Count != layers) throw Bad($"\"target_sparsity\" lists {targets.Count} values for {layers} layers");
        var target = new float[layers];
        for (int l = 0; l < layers; l++)
        {
            float s = Float(targets[l], $"\"target_sparsity\"[{l}]", Bad);
            if (!(s < 1)) throw Bad($"\"target_sparsity\"[{l}] is {Number(s)}, outside [0, 1)");
            target[l] = s;
        }

        string? sha = null;
        int tokens = 0;
        if (o["calibration"] is { } cal)
        {
            if (cal is not JsonObject c) throw Bad("\"calibration\" is not an object");
            if (c["sha256"] is { } h && (Str(h) is not { } hs || hs.Length != 64 || !hs.All(Uri.IsHexDigit)))
                throw Bad("\"calibration\": \"sha256\" is not 64 hex digits");
            sha = Str(c["sha256"]);
            if (c["tokens"] is { } tk) tokens = Int(tk) is int n && n >= 0 ? n : throw Bad("\"calibration\": \"tokens\" is not a whole number ≥ 0");
        }

        if (o["layers"] is not JsonArray list) throw Bad("\"layers\" (the thresholds per layer) is missing or not a list");
        if (list.Count != layers) throw Bad($"\"layers\" holds {list.Count} entries for {layers} layers");
        var sites = method.Sites();
        var result = new LayerThresholds[layers];
        for (int l = 0; l < layers; l++)
        {
            if (list[l] is not JsonObject lo) throw Bad($"layer {l}: not an object");
            if (lo["layer"] is { } idx && Int(idx) != l) throw Bad($"layer entry {l} says \"layer\": {idx.ToJsonString()}; the entries must be in order 0..{layers - 1}");
            var values = new Dictionary<SparseSite, float>();
            float[]? channels = null;
            foreach (var (key, node) in lo)
            {
                if (key == "layer") continue;
                if (key == GateChannelsKey)
                {
                    if (!sites.Contains(SparseSite.Gate)) throw Bad($"layer {l}: {method.Name()} has no gate thresholds, yet \"{key}\" is given");
                    if (node is not JsonArray a) throw Bad($"layer {l}: \"{key}\" is not a list");
                    if (a.Count != ffn) throw Bad($"layer {l}: \"{key}\" lists {a.Count} thresholds for an FFN of {ffn} channels");
                    channels = new float[ffn];
                    for (int i = 0; i < ffn; i++) channels[i] = Float(a[i], $"layer {l}: \"{key}\"[{i}]", Bad);
                    continue;
                }
                var site = Enum.GetValues<SparseSite>().Where(s => Key(s) == key).Select(s => (SparseSite?)s).FirstOrDefault()
                    ?? throw Bad($"layer {l}: unknown key \"{key}\"");
                if (!sites.Contains(site)) throw Bad($"layer {l}: {method.Name()} does not threshold {Key(site)}");
                values[site] = Float(node, $"layer {l}: \"{key}\"", Bad);
            }
            if (sites.Contains(SparseSite.Gate) && channels == null && !values.ContainsKey(SparseSite.Gate))
                throw Bad($"layer {l}: neither \"gate\" nor \"{GateChannelsKey}\" is given");
            float V(SparseSite s) => values.GetValueOrDefault(s);
            result[l] = new LayerThresholds
            {
                QInput = V(SparseSite.QInput), QkvInput = V(SparseSite.QkvInput), OInput = V(SparseSite.OInput),
                FfnInput = V(SparseSite.FfnInput), DownInput = V(SparseSite.DownInput), Gate = V(SparseSite.Gate), GateChannels = channels,
            };
        }
        var thresholds = new ActivationThresholds
        {
            Method = method, Model = model, LayerCount = layers, Dim = dim, QDim = qDim, FfnDim = ffn,
            TargetSparsity = target, CalibrationSha256 = sha, CalibrationTokens = tokens, Layers = result,
        };
        try { thresholds.Validate(); }
        catch (InvalidDataException e) { throw Bad(e.Message); }
        return thresholds;
    }

    /// <summary>Visits every object, so that a key given twice fails here (JsonObject builds its dictionary lazily).</summary>
    static void Touch(JsonNode? n)
    {
        if (n is JsonObject o) foreach (var (_, v) in o) Touch(v);
        else if (n is JsonArray a) foreach (var v in a) Touch(v);
    }

    static string? Str(JsonNode? n) => n?.GetValueKind() == JsonValueKind.String ? n.GetValue<string>() : null;

    static int? Int(JsonNode? n) =>
        n?.GetValueKind() == JsonValueKind.Number && n.AsValue().TryGetValue(out double d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue ? (int)d : null;

    /// <summary>A finite number ≥ 0 that float holds (1e39 would become +∞ there).</summary>
    static float Float(JsonNode? n, string what, Func<string, InvalidDataException> bad)
    {
        if (n?.GetValueKind() != JsonValueKind.Number || !n.AsValue().TryGetValue(out double d))
            throw bad($"{what} is {n?.ToJsonString() ?? "null"}, not a number");
        float f = (float)d;
        if (!double.IsFinite(d) || !float.IsFinite(f)) throw bad($"{what} is {n.ToJsonString()}, too large for a threshold");
        if (f < 0) throw bad($"{what} is {n.ToJsonString()}, negative (a threshold is a magnitude ≥ 0)");
        return f;
    }
}
