using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sieve.Pop;

/// <summary>Which score ranks layers: the Fisher importance (sampled targets) or the ablation ΔL (text targets).</summary>
public enum ImportanceMetric { Fisher, Ablation }

/// <summary>How an importance file was measured.</summary>
public sealed record ImportanceSettings(
    [property: JsonPropertyName("prompt_len")] int PromptLength,
    [property: JsonPropertyName("decode_len")] int DecodeLength,
    [property: JsonPropertyName("windows")] int Windows,
    [property: JsonPropertyName("windows_available")] int WindowsAvailable,
    [property: JsonPropertyName("epsilon")] double Epsilon,
    [property: JsonPropertyName("seed")] int Seed)
{
    [JsonPropertyName("prefill_rows")] public int PrefillRows => PromptLength - 1;
    [JsonPropertyName("decode_rows")] public int DecodeRows => DecodeLength;
    [JsonPropertyName("loss")] public string Loss => "mean next-token cross-entropy over the decode rows (the last prompt token and the first decode_len-1 continuation tokens)";
    [JsonPropertyName("targets")] public string Targets => "prefill/decode: sampled from the dense model (seeded); text.prefill/text.decode: the text's own next tokens";
}

/// <summary>Mean dense loss per window under each kind of target.</summary>
public sealed record DenseLoss(
    [property: JsonPropertyName("sampled")] double Sampled,
    [property: JsonPropertyName("text")] double Text);

/// <summary>
/// pop-importance.json: what <c>sieve pop importance</c> writes and <c>sieve pop plan</c> reads. <see cref="Layers"/>
/// is in layer order; <see cref="PrefillOrder"/> gives the layers POP would skip first.
/// </summary>
public sealed record ImportanceReport(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("model_layers")] int ModelLayers,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("text_sha256")] string TextSha256,
    [property: JsonPropertyName("settings")] ImportanceSettings Settings,
    [property: JsonPropertyName("dense_loss")] DenseLoss DenseLoss,
    [property: JsonPropertyName("forward_passes")] long ForwardPasses,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("layers")] IReadOnlyList<LayerImportance> Layers)
{
    public const string Kind = "sieve.pop.importance";
    public const int CurrentVersion = 1;

    [JsonPropertyName("kind")] public string FileKind { get; init; } = Kind;
    [JsonPropertyName("version")] public int Version { get; init; } = CurrentVersion;

    // Relaxed escaping keeps the text readable (an apostrophe stays one, not \u0027).
    static readonly JsonSerializerOptions Options = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string HashText(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>
    /// Layers from least to most important in prefill (ties: the deeper layer first): POP's skip order. Fisher is the
    /// paper's score; the ablation (text targets) is the plain check, steadier over few windows (on stories260K with 5–10
    /// windows the two agree that prefill matters little past layer 0 but order layers 1–3 differently).
    /// </summary>
    public IReadOnlyList<int> PrefillOrder(ImportanceMetric metric = ImportanceMetric.Fisher) =>
        Layers.OrderBy(l => metric == ImportanceMetric.Fisher ? l.Prefill.Fisher : l.Text.Prefill.Ablation)
            .ThenByDescending(l => l.Layer).Select(l => l.Layer).ToList();

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    public string Write(string path)
    {
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is string dir) Directory.CreateDirectory(dir);
        File.WriteAllText(path, ToJson());
        return path;
    }

    /// <summary>Reads a file this type wrote; a file of another kind, version or shape is an error naming the file.</summary>
    public static ImportanceReport Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        ImportanceReport? r;
        try { r = JsonSerializer.Deserialize<ImportanceReport>(File.ReadAllText(path), Options); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not a POP importance file ({e.Message})"); }
        if (r == null || r.FileKind != Kind) throw new InvalidDataException($"{path}: not a POP importance file (kind is not \"{Kind}\")");
        if (r.Version != CurrentVersion) throw new InvalidDataException($"{path}: POP importance version {r.Version}; this build reads {CurrentVersion}");
        if (r.Layers == null || r.Layers.Count != r.ModelLayers || r.Layers.Select((l, i) => l?.Layer == i && l.Prefill != null && l.Decode != null).Contains(false))
            throw new InvalidDataException($"{path}: expected {r.ModelLayers} layers numbered 0..{r.ModelLayers - 1}, each with prefill and decode scores");
        return r;
    }
}
