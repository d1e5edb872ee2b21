using System.Text.Json;
using System.Text.Json.Serialization;
using Sieve.Models;

namespace Sieve.Formats.HuggingFace;

/// <summary>The <c>rope_scaling</c> (or transformers 5 <c>rope_parameters</c>) object of a config.json.</summary>
public sealed record HfRopeScaling
{
    [JsonPropertyName("rope_type")] public string? RopeType { get; init; }
    /// <summary>Older configs name the kind "type".</summary>
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("factor")] public double? Factor { get; init; }
    [JsonPropertyName("low_freq_factor")] public double? LowFreqFactor { get; init; }
    [JsonPropertyName("high_freq_factor")] public double? HighFreqFactor { get; init; }
    [JsonPropertyName("original_max_position_embeddings")] public int? OriginalMaxPositionEmbeddings { get; init; }
    /// <summary>Only in transformers 5 <c>rope_parameters</c>.</summary>
    [JsonPropertyName("rope_theta")] public double? RopeTheta { get; init; }

    public string Kind => RopeType ?? Type ?? "default";
}

/// <summary>
/// The fields of a Hugging Face <c>config.json</c> that a Llama-family decoder needs. Everything else in the
/// file is ignored.
/// </summary>
public sealed record HfConfig
{
    [JsonPropertyName("model_type")] public string? ModelType { get; init; }
    [JsonPropertyName("architectures")] public string[]? Architectures { get; init; }
    [JsonPropertyName("hidden_size")] public int? HiddenSize { get; init; }
    [JsonPropertyName("num_hidden_layers")] public int? NumHiddenLayers { get; init; }
    [JsonPropertyName("num_attention_heads")] public int? NumAttentionHeads { get; init; }
    [JsonPropertyName("num_key_value_heads")] public int? NumKeyValueHeads { get; init; }
    [JsonPropertyName("head_dim")] public int? HeadDim { get; init; }
    [JsonPropertyName("intermediate_size")] public int? IntermediateSize { get; init; }
    [JsonPropertyName("vocab_size")] public int? VocabSize { get; init; }
    [JsonPropertyName("max_position_embeddings")] public int? MaxPositionEmbeddings { get; init; }
    [JsonPropertyName("rms_norm_eps")] public double? RmsNormEps { get; init; }
    [JsonPropertyName("rope_theta")] public double? RopeTheta { get; init; }
    [JsonPropertyName("rope_scaling")] public HfRopeScaling? RopeScaling { get; init; }
    /// <summary>transformers 5 moves theta and scaling here.</summary>
    [JsonPropertyName("rope_parameters")] public HfRopeScaling? RopeParameters { get; init; }
    [JsonPropertyName("tie_word_embeddings")] public bool? TieWordEmbeddings { get; init; }
    [JsonPropertyName("torch_dtype")] public string? TorchDtype { get; init; }
    /// <summary>transformers 5 renames torch_dtype to dtype.</summary>
    [JsonPropertyName("dtype")] public string? Dtype { get; init; }
    [JsonPropertyName("attention_bias")] public bool? AttentionBias { get; init; }
    [JsonPropertyName("sliding_window")] public int? SlidingWindow { get; init; }
    [JsonPropertyName("use_sliding_window")] public bool? UseSlidingWindow { get; init; }

    // A config.json is a few kilobytes; anything near this is not one.
    const long MaxBytes = 4 << 20;

    static readonly JsonSerializerOptions Options = new()
    {
        AllowTrailingCommas = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
        MaxDepth = 64,
    };

    public static HfConfig Read(string path)
    {
        return Parse(ModelPath.ReadAllBytes(path, MaxBytes, "a config.json"), path);
    }

    public static HfConfig Parse(ReadOnlySpan<byte> json, string path)
    {
        try
        {
            return JsonSerializer.Deserialize<HfConfig>(json, Options) ?? throw new ModelFileException(path, "config.json is 'null', not an object");
        }
        catch (JsonException e)
        {
            throw new ModelFileException(path, $"not valid config JSON: {e.Message}", e);
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or ArgumentException or FormatException or OverflowException)
        {
            throw new ModelFileException(path, $"not valid config JSON: {e.Message}", e);
        }
    }

    /// <summary>The GGUF architecture name for <see cref="ModelType"/>, or an "unsupported architecture" error.</summary>
    public string Architecture(string path) => ModelType switch
    {
        "llama" or "mistral" => Formats.Architectures.Llama,
        "qwen2" => Formats.Architectures.Qwen2,
        "qwen3" => Formats.Architectures.Qwen3,
        null => throw new ModelFileException(path, "config.json has no model_type"),
        var other => throw Formats.Architectures.Unsupported(path, other),
    };

    /// <summary>The model's shape. <paramref name="notes"/> collects defaults applied and limits imposed.</summary>
    public ModelConfig ToModelConfig(string path, IDictionary<string, string>? notes = null)
    {
        string arch = Architecture(path);
        int Need(int? v, string key) => v ?? throw new ModelFileException(path, $"config.json has no {key}");
        int dim = Need(HiddenSize, "hidden_size"), heads = Need(NumAttentionHeads, "num_attention_heads");
        if (heads <= 0) throw new ModelFileException(path, $"num_attention_heads is {heads}");
        if (HeadDim == null && dim % heads != 0)
            throw new ModelFileException(path, $"hidden_size {dim} does not divide into {heads} heads and head_dim is not given");
        int headDim = HeadDim ?? dim / heads;
        // ModelConfig.Validate bounds the other sizes; heads × head dim must not overflow before it runs.
        if (headDim > 1 << 16) throw new ModelFileException(path, $"head_dim {headDim} is implausibly large");

        // transformers' own defaults where a config leaves a field out.
        int context = MaxPositionEmbeddings ?? (arch == Formats.Architectures.Llama ? (ModelType == "mistral" ? 4096 * 32 : 2048) : 32768);
        if (MaxPositionEmbeddings == null) notes?.Add("max_position_embeddings", $"missing: transformers' default {context}");
        // Sieve attends over the whole context; a sliding window shorter than it would change the answers past
        // the window, so the usable context stops there.
        bool windowed = ModelType == "mistral" || UseSlidingWindow == true;
        if (windowed && SlidingWindow is int w && w > 0 && w < context)
        {
            notes?.Add("sliding_window", $"context limited to the sliding window of {w} (from {context}): Sieve does not implement windowed attention");
            context = w;
        }

        var rope = RopeScaling ?? RopeParameters;
        double theta = RopeTheta ?? RopeParameters?.RopeTheta ?? 10000.0;
        RopeScaling? scaling = null;
        if (rope != null)
        {
            switch (rope.Kind)
            {
                case "default": break;
                case "llama3":
                    scaling = new RopeScaling(
                        rope.Factor ?? throw new ModelFileException(path, "llama3 rope_scaling has no factor"),
                        rope.LowFreqFactor ?? throw new ModelFileException(path, "llama3 rope_scaling has no low_freq_factor"),
                        rope.HighFreqFactor ?? throw new ModelFileException(path, "llama3 rope_scaling has no high_freq_factor"),
                        rope.OriginalMaxPositionEmbeddings ?? throw new ModelFileException(path, "llama3 rope_scaling has no original_max_position_embeddings"));
                    if (!(scaling.Factor >= 1 && scaling.LowFreqFactor > 0 && scaling.HighFreqFactor > scaling.LowFreqFactor && scaling.OriginalContextLength > 0))
                        throw new ModelFileException(path, $"llama3 rope_scaling {scaling} is implausible");
                    break;
                case var kind when rope.Factor is null or 1.0 && kind is "linear" or "dynamic":
                    break;   // a factor of 1 changes nothing
                case var kind:
                    throw new ModelFileException(path, $"rope scaling type '{kind}' is not supported (only llama3 is)");
            }
        }
        if (!(theta > 1 && theta < 1e12)) throw new ModelFileException(path, $"rope_theta {theta} is implausible");
        double eps = RmsNormEps ?? 1e-6;
        if (RmsNormEps == null) notes?.Add("rms_norm_eps", "missing: transformers' default 1e-6");
        if (!(eps > 0 && eps < 1)) throw new ModelFileException(path, $"rms_norm_eps {eps} is not in (0, 1)");
        if (ModelType == "mistral") notes?.Add("model_type", "mistral (runs as llama)");

        var config = new ModelConfig
        {
            Architecture = arch,
            Dim = dim,
            LayerCount = Need(NumHiddenLayers, "num_hidden_layers"),
            HeadCount = heads,
            KvHeadCount = NumKeyValueHeads ?? heads,
            HeadDim = headDim,
            FfnDim = Need(IntermediateSize, "intermediate_size"),
            VocabSize = Need(VocabSize, "vocab_size"),
            ContextLength = context,
            NormEps = (float)eps,
            RopeTheta = (float)theta,
            RopeDim = headDim,
            // Hugging Face's rotate_half pairs dimension i with i + d/2.
            RopeStyle = RopeStyle.Neox,
            RopeScaling = scaling,
            TiedEmbeddings = TieWordEmbeddings ?? false,
            QkvBias = arch == Formats.Architectures.Qwen2 || AttentionBias == true,
            QkNorm = arch == Formats.Architectures.Qwen3,
        };
        config.Validate(path);
        return config;
    }
}
