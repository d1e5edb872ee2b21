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
    /// <summary>Qwen2: layers from this index on slide (when use_sliding_window).</summary>
    [JsonPropertyName("max_window_layers")] public int? MaxWindowLayers { get; init; }
    /// <summary>transformers ≥ 4.53: "sliding_attention" or "full_attention" per layer; overrides every other pattern field.</summary>
    [JsonPropertyName("layer_types")] public string[]? LayerTypes { get; init; }
    /// <summary>Gemma 3: every Nth layer is global.</summary>
    [JsonPropertyName("sliding_window_pattern")] public int? SlidingWindowPattern { get; init; }
    [JsonPropertyName("query_pre_attn_scalar")] public double? QueryPreAttnScalar { get; init; }
    [JsonPropertyName("attn_logit_softcapping")] public double? AttnLogitSoftcapping { get; init; }
    [JsonPropertyName("final_logit_softcapping")] public double? FinalLogitSoftcapping { get; init; }
    /// <summary>Gemma 3: the RoPE base of its sliding layers.</summary>
    [JsonPropertyName("rope_local_base_freq")] public double? RopeLocalBaseFreq { get; init; }
    [JsonPropertyName("hidden_activation")] public string? HiddenActivation { get; init; }
    [JsonPropertyName("hidden_act")] public string? HiddenAct { get; init; }
    /// <summary>Gemma 3's multimodal checkpoints nest the language model's config here.</summary>
    [JsonPropertyName("text_config")] public HfConfig? TextConfig { get; init; }

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
        "gemma2" => Formats.Architectures.Gemma2,
        "gemma3_text" => Formats.Architectures.Gemma3,
        "gemma3" => TextConfig != null ? Formats.Architectures.Gemma3 : throw new ModelFileException(path, "a gemma3 config.json without text_config"),
        null => throw new ModelFileException(path, "config.json has no model_type"),
        var other => throw Formats.Architectures.Unsupported(path, other),
    };

    /// <summary>
    /// The config that describes the decoder: this one, or for Gemma 3's multimodal checkpoints
    /// (Gemma3ForConditionalGeneration) its <c>text_config</c>, whose vision tower Sieve leaves out.
    /// </summary>
    public HfConfig TextModel => ModelType == "gemma3" && TextConfig != null ? TextConfig with { ModelType = "gemma3_text" } : this;

    /// <summary>
    /// transformers' Gemma2Config / Gemma3TextConfig defaults for the fields a Gemma config leaves out (the
    /// multimodal Gemma 3 configs list only what differs from them).
    /// </summary>
    HfConfig WithGemmaDefaults(string arch, IDictionary<string, string>? notes)
    {
        bool g3 = arch == Formats.Architectures.Gemma3;
        var d = this with
        {
            VocabSize = VocabSize ?? (g3 ? 262208 : 256000),
            HiddenSize = HiddenSize ?? 2304,
            IntermediateSize = IntermediateSize ?? 9216,
            NumHiddenLayers = NumHiddenLayers ?? 26,
            NumAttentionHeads = NumAttentionHeads ?? 8,
            NumKeyValueHeads = NumKeyValueHeads ?? 4,
            HeadDim = HeadDim ?? 256,
            MaxPositionEmbeddings = MaxPositionEmbeddings ?? (g3 ? 131072 : 8192),
            RmsNormEps = RmsNormEps ?? 1e-6,
            RopeTheta = RopeTheta ?? RopeParameters?.RopeTheta ?? (g3 ? 1_000_000 : 10000),
            QueryPreAttnScalar = QueryPreAttnScalar ?? 256,
            SlidingWindow = SlidingWindow ?? 4096,
            TieWordEmbeddings = TieWordEmbeddings ?? true,
            // Gemma2Config caps by default; Gemma3TextConfig does not (a null in the file reads as "not given").
            AttnLogitSoftcapping = AttnLogitSoftcapping ?? (g3 ? null : Gemma.Gemma2AttnSoftcap),
            FinalLogitSoftcapping = FinalLogitSoftcapping ?? (g3 ? null : Gemma.Gemma2FinalSoftcap),
        };
        foreach (var (field, given) in new (string, bool)[] { ("vocab_size", VocabSize != null), ("hidden_size", HiddenSize != null),
                     ("num_attention_heads", NumAttentionHeads != null), ("num_key_value_heads", NumKeyValueHeads != null), ("head_dim", HeadDim != null),
                     ("rms_norm_eps", RmsNormEps != null), ("sliding_window", SlidingWindow != null) })
            if (!given) notes?.TryAdd(field, $"missing: transformers' {(g3 ? "Gemma3TextConfig" : "Gemma2Config")} default");
        return d;
    }

    /// <summary>The model's shape. <paramref name="notes"/> collects defaults applied and limits imposed.</summary>
    public ModelConfig ToModelConfig(string path, IDictionary<string, string>? notes = null)
    {
        string arch = Architecture(path);
        if (ModelType == "gemma3") notes?.Add("model_type", "gemma3 (multimodal): the text decoder from text_config; the vision tower is not loaded");
        if (Formats.Architectures.IsGemma(arch)) return TextModel.WithGemmaDefaults(arch, notes).GemmaConfig(arch, path, notes);
        return ToLlamaFamilyConfig(arch, path, notes);
    }

    ModelConfig ToLlamaFamilyConfig(string arch, string path, IDictionary<string, string>? notes)
    {
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
        // Mistral slides on every layer; Qwen2 (use_sliding_window) from max_window_layers on; layer_types, when
        // given, says it per layer.
        bool windowed = ModelType == "mistral" || UseSlidingWindow == true || LayerTypes != null;
        int window = windowed && SlidingWindow is int w && w > 0 ? w : 0;
        bool[]? slidingLayers = null;
        if (window > 0 && NumHiddenLayers is int nl and > 0 and <= 1024)
        {
            slidingLayers = SlidingLayersFrom(path, nl, _ => ModelType == "mistral" ? true : null)
                ?? Enumerable.Range(0, nl).Select(l => l >= (MaxWindowLayers ?? 0)).ToArray();
            if (!slidingLayers.Contains(true)) { window = 0; slidingLayers = null; }
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
            SlidingWindow = window,
            SlidingLayers = slidingLayers,
        };
        config.Validate(path);
        return config;
    }

    /// <summary>
    /// Which layers slide, from <c>layer_types</c> when present (it must name every layer, each "sliding_attention"
    /// or "full_attention"), else from <paramref name="fallback"/> (null from it: no opinion).
    /// </summary>
    bool[]? SlidingLayersFrom(string path, int layers, Func<int, bool?> fallback)
    {
        if (LayerTypes != null)
        {
            if (LayerTypes.Length != layers)
                throw new ModelFileException(path, $"layer_types names {LayerTypes.Length} layers but num_hidden_layers is {layers}: inconsistent sliding-window pattern");
            return LayerTypes.Select((t, i) => t switch
            {
                "sliding_attention" => true,
                "full_attention" => false,
                _ => throw new ModelFileException(path, $"layer_types[{i}] is '{t}' (expected sliding_attention or full_attention)"),
            }).ToArray();
        }
        var f = Enumerable.Range(0, layers).Select(fallback).ToArray();
        return f.Any(x => x == null) ? null : f.Select(x => x!.Value).ToArray();
    }

    /// <summary>Gemma 2 and Gemma 3 (text): the Llama-family fields plus their caps, window pattern, scalars and RoPE bases.</summary>
    ModelConfig GemmaConfig(string arch, string path, IDictionary<string, string>? notes)
    {
        bool g3 = arch == Formats.Architectures.Gemma3;
        string act = HiddenActivation ?? HiddenAct ?? "gelu_pytorch_tanh";
        if (act is not ("gelu_pytorch_tanh" or "gelu_tanh" or "gelu"))
            throw new ModelFileException(path, $"hidden_activation '{act}' is not supported for {arch} (Gemma uses gelu_pytorch_tanh)");
        if (act == "gelu") notes?.Add("hidden_activation", "gelu: run as the tanh approximation, as transformers does for Gemma");
        var baseConfig = (this with { ModelType = "llama", RopeScaling = null, RopeParameters = RopeParameters is { } rp ? rp with { RopeType = null, Type = null, Factor = null } : null })
            .ToLlamaFamilyConfig(Formats.Architectures.Llama, path, notes);
        int layers = baseConfig.LayerCount;
        if (SlidingWindowPattern is int period && (period <= 0 || period > layers + 1))
            throw new ModelFileException(path, $"sliding_window_pattern {period} is not between 1 and {layers + 1}: inconsistent sliding-window pattern");
        var pattern = SlidingLayersFrom(path, layers, _ => null)
            ?? Gemma.Pattern(layers, g3 ? SlidingWindowPattern ?? Gemma.Gemma3Period : Gemma.Gemma2Period);
        int window = SlidingWindow ?? 0;
        if (pattern.Contains(true) && window <= 0)
            throw new ModelFileException(path, $"sliding_window is {window} but layers are marked sliding: inconsistent sliding-window pattern");

        // Gemma 3 (4B and up) scales its global layers' RoPE linearly; its sliding layers keep the local base unscaled.
        float linear = 1f;
        if ((RopeScaling ?? RopeParameters) is { } rope && rope.Kind != "default")
        {
            if (rope.Kind != "linear" || !g3) throw new ModelFileException(path, $"rope scaling type '{rope.Kind}' is not supported for {arch}");
            linear = (float)(rope.Factor ?? 1.0);
        }
        double localBase = RopeLocalBaseFreq ?? Gemma.Gemma3LocalRopeBase;
        var c = Gemma.Apply(baseConfig with
        {
            SlidingWindow = window,
            SlidingLayers = pattern,
            QueryPreAttnScalar = (float)(QueryPreAttnScalar ?? baseConfig.HeadDim),
            RopeLinearFactor = linear,
        }, arch) with
        {
            // The file's own numbers over the family defaults; null means "none" for the caps.
            AttnLogitSoftcap = (float)(AttnLogitSoftcapping ?? 0),
            FinalLogitSoftcap = (float)(FinalLogitSoftcapping ?? 0),
            SlidingRopeTheta = g3 ? (float)localBase : 0,
            TiedEmbeddings = TieWordEmbeddings ?? true,
        };
        c.Validate(path);
        return c;
    }
}
