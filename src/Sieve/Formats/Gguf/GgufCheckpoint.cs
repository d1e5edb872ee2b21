using Sieve.Models;
using Sieve.Tensors;

namespace Sieve.Formats.Gguf;

/// <summary>
/// Reads a llama.cpp-style GGUF model (architectures llama, qwen2, qwen3) into a <see cref="LoadedCheckpoint"/>.
/// Matrices stay in the map in their stored type; norms and biases are copied out as F32.
/// </summary>
public static class GgufCheckpoint
{
    /// <summary>Opens and loads <paramref name="path"/>; the checkpoint owns the file.</summary>
    public static LoadedCheckpoint Load(string path)
    {
        var file = GgufFile.Open(path);
        try { return Load(file); }
        catch { file.Dispose(); throw; }
    }

    /// <summary>Loads from an open file. The returned checkpoint takes ownership: disposing it closes the file.</summary>
    public static LoadedCheckpoint Load(GgufFile g)
    {
        string path = g.Path;
        ModelFileException Bad(string problem) => new(path, problem);
        var notes = new Dictionary<string, string>();

        string arch = g.GetString("general.architecture") ?? throw Bad("metadata key 'general.architecture' is missing");
        if (!Architectures.IsSupported(arch)) throw Architectures.Unsupported(path, arch);

        int Int(string key, int? fallback = null)
        {
            long? v = g.GetInt($"{arch}.{key}");
            if (v == null)
            {
                if (fallback is int f) return f;
                throw Bad($"metadata key '{arch}.{key}' is missing");
            }
            if (v <= 0 || v > int.MaxValue) throw Bad($"metadata '{arch}.{key}' is {v}, which is not a valid size");
            return (int)v;
        }

        var emb = Matrix(g, "token_embd.weight");
        int dim = Int("embedding_length");
        int layers = Int("block_count");
        int heads = Int("attention.head_count");
        // head_count_kv may be a per-layer array in some files; a single value is all a Llama-family model uses.
        int kvHeads = g.Metadata.TryGetValue($"{arch}.attention.head_count_kv", out var kvObj) && kvObj is Array
            ? throw Bad($"'{arch}.attention.head_count_kv' varies by layer, which Sieve does not support")
            : Int("attention.head_count_kv", heads);
        if (dim % heads != 0 && !g.Has($"{arch}.attention.key_length"))
            throw Bad($"embedding length {dim} does not divide into {heads} heads and 'attention.key_length' is missing");
        int headDim = Int("attention.key_length", dim / heads);
        int valueDim = Int("attention.value_length", headDim);
        if (valueDim != headDim) throw Bad($"attention value length {valueDim} differs from key length {headDim}, which Sieve does not support");
        int ropeDim = Int("rope.dimension_count", headDim);
        // ModelConfig.Validate bounds the other sizes; heads × head dim must not overflow before it runs.
        if (headDim > 1 << 16) throw Bad($"attention key length {headDim} is implausibly large: corrupt file");
        double eps = g.GetFloat($"{arch}.attention.layer_norm_rms_epsilon") ?? throw Bad($"metadata key '{arch}.attention.layer_norm_rms_epsilon' is missing");
        double theta = g.GetFloat($"{arch}.rope.freq_base") ?? 10000.0;
        if (!g.Has($"{arch}.rope.freq_base")) notes["rope_theta"] = "no rope.freq_base key: default 10000";
        if (!(eps > 0 && eps < 1)) throw Bad($"RMS norm epsilon {eps} is not in (0, 1)");
        if (!(theta > 1 && theta < 1e12)) throw Bad($"RoPE base {theta} is implausible");

        var config = new ModelConfig
        {
            Architecture = arch,
            Dim = dim,
            LayerCount = layers,
            HeadCount = heads,
            KvHeadCount = kvHeads,
            HeadDim = headDim,
            FfnDim = Int("feed_forward_length"),
            VocabSize = emb.Rows,
            ContextLength = Int("context_length"),
            NormEps = (float)eps,
            RopeTheta = (float)theta,
            RopeDim = ropeDim,
            RopeStyle = Architectures.GgufRopeStyle(arch),
            TiedEmbeddings = !g.TryGetTensor("output.weight", out _),
            // Qwen2 always has Q/K/V biases; llama.cpp's llama loader takes them when present (HF attention_bias).
            QkvBias = arch == Architectures.Qwen2 || (arch == Architectures.Llama && g.TryGetTensor("blk.0.attn_q.bias", out _)),
            QkNorm = arch == Architectures.Qwen3,
        };
        if (g.GetInt($"{arch}.vocab_size") is long vocabKey && vocabKey != emb.Rows)
            throw Bad($"'{arch}.vocab_size' is {vocabKey} but token_embd.weight has {emb.Rows} rows");
        // The shape must be sane before per-layer names are built from it.
        config.Validate(path);

        float[]? freqs = null;
        if (Architectures.IsGemma(arch)) config = GemmaOf(g, arch, config, notes);
        else
        {
            (var scaling, freqs) = RopeScalingOf(g, arch, config, notes);
            config = config with { RopeScaling = scaling };
        }

        var used = new HashSet<string>(StringComparer.Ordinal) { "token_embd.weight" };
        WeightTensor M(string name) { used.Add(name); return Matrix(g, name); }
        float[] V(string name) { used.Add(name); return Vector(g, name); }

        var layerWeights = new LayerWeights[layers];
        for (int i = 0; i < layers; i++)
        {
            layerWeights[i] = LayerTensorNames.Gguf(i).Resolve(config, M, V);
        }
        var weights = new ModelWeights
        {
            TokenEmbedding = emb,
            Layers = layerWeights,
            OutputNorm = V("output_norm.weight"),
            Output = config.TiedEmbeddings ? emb : M("output.weight"),
        };
        if (freqs != null) used.Add("rope_freqs.weight");
        // A tensor we do not use would mean a variant we would run wrongly (say, an output bias): refuse it.
        foreach (var t in g.Tensors)
            if (!used.Contains(t.Name))
                throw Bad($"tensor '{t.Name}' is not part of the {arch} architecture as Sieve runs it: unsupported model variant");
        weights.Validate(config, path);

        return new LoadedCheckpoint
        {
            Config = config,
            Weights = weights,
            Path = path,
            Format = "gguf",
            FileBytes = g.FileLength,
            Notes = notes,
            TokenizerPath = g.Has("tokenizer.ggml.model") ? path : null,
            Gguf = g,
            RopeFreqFactors = freqs,
            Resources = [g],
        };
    }

    /// <summary>
    /// Gemma 2/3's keys as llama.cpp writes them (<c>attn_logit_softcapping</c>, <c>final_logit_softcapping</c>,
    /// <c>attention.sliding_window</c>, linear <c>rope.scaling</c> for Gemma 3's global layers), plus two that
    /// llama.cpp b4748 hard-codes and newer versions write: <c>attention.sliding_window_pattern</c> (a period N, every
    /// Nth layer global, or one bool per layer) and <c>rope.freq_base_swa</c> (Gemma 3's local base, 10 000).
    /// <c>attention.query_pre_attn_scalar</c> is Sieve's own; without it the scalar follows llama.cpp's rule.
    /// </summary>
    static ModelConfig GemmaOf(GgufFile g, string arch, ModelConfig c, Dictionary<string, string> notes)
    {
        string path = g.Path, k = arch + ".";
        bool g3 = arch == Architectures.Gemma3;
        ModelFileException Bad(string problem) => new(path, problem);
        if (g.TryGetTensor("output.weight", out _)) notes["output"] = "untied output.weight (Gemma ties it to the embedding)";

        long? window = g.GetInt(k + "attention.sliding_window");
        if (window == null)
        {
            if (g3) throw Bad($"metadata key '{k}attention.sliding_window' is missing (Gemma 3 needs its window)");
            notes["sliding_window"] = $"no '{k}attention.sliding_window' key: Gemma 2's {Gemma.Gemma2Window}";
        }
        if (window is long wv && (wv <= 0 || wv > int.MaxValue)) throw Bad($"'{k}attention.sliding_window' is {wv}: inconsistent sliding-window pattern");

        bool[] pattern;
        string patternKey = k + "attention.sliding_window_pattern";
        if (!g.Has(patternKey)) pattern = Gemma.Pattern(c.LayerCount, g3 ? Gemma.Gemma3Period : Gemma.Gemma2Period);
        else if (g.Metadata[patternKey] is Array)
        {
            pattern = g.GetArray<bool>(patternKey)!;
            if (pattern.Length != c.LayerCount)
                throw Bad($"'{patternKey}' names {pattern.Length} layers but the model has {c.LayerCount}: inconsistent sliding-window pattern");
        }
        else
        {
            long period = g.GetInt(patternKey)!.Value;
            if (period <= 0 || period > c.LayerCount + 1) throw Bad($"'{patternKey}' is {period}, not a period between 1 and {c.LayerCount + 1}: inconsistent sliding-window pattern");
            pattern = Gemma.Pattern(c.LayerCount, (int)period);
        }

        float linear = 1f;
        string? type = g.GetString(k + "rope.scaling.type");
        double factor = g.GetFloat(k + "rope.scaling.factor") ?? 1.0;
        if (type is not (null or "none" or "linear")) throw Bad($"rope scaling type '{type}' is not supported for {arch}");
        if (type == "linear" && factor != 1.0)
        {
            if (!g3) throw Bad($"linear rope scaling is not supported for {arch}");
            linear = (float)factor;
        }
        double localBase = g.GetFloat(k + "rope.freq_base_swa") ?? Gemma.Gemma3LocalRopeBase;
        if (!(localBase > 1 && localBase < 1e12)) throw Bad($"'{k}rope.freq_base_swa' is {localBase}");
        double? scalar = g.GetFloat(k + "attention.query_pre_attn_scalar");
        if (scalar is double sv && !(sv > 0 && sv < 1e6)) throw Bad($"'{k}attention.query_pre_attn_scalar' is {sv}");

        var gemma = Gemma.Apply(c with
        {
            SlidingWindow = (int)(window ?? Gemma.Gemma2Window),
            SlidingLayers = pattern,
            QueryPreAttnScalar = (float)(scalar ?? 0),
            RopeLinearFactor = linear,
        }, arch) with
        {
            TiedEmbeddings = c.TiedEmbeddings,
            SlidingRopeTheta = g3 ? (float)localBase : 0,
        };
        if (!g3)
        {
            double attnCap = g.GetFloat(k + "attn_logit_softcapping") ?? Gemma.Gemma2AttnSoftcap;
            double finalCap = g.GetFloat(k + "final_logit_softcapping") ?? Gemma.Gemma2FinalSoftcap;
            gemma = gemma with { AttnLogitSoftcap = (float)attnCap, FinalLogitSoftcap = (float)finalCap };
        }
        else if (g.GetFloat(k + "final_logit_softcapping") is double fc) gemma = gemma with { FinalLogitSoftcap = (float)fc };
        if (!pattern.Contains(false)) notes["sliding_window_pattern"] = "every layer slides";
        gemma.Validate(path);
        return gemma;
    }

    /// <summary>
    /// Llama 3 scaling from explicit keys or from <c>rope_freqs.weight</c>; linear or YaRN scaling is refused,
    /// because running such a model without it gives wrong answers past the original context.
    /// </summary>
    static (RopeScaling?, float[]?) RopeScalingOf(GgufFile g, string arch, ModelConfig c, Dictionary<string, string> notes)
    {
        string path = g.Path;
        string k = $"{arch}.rope.scaling.";
        string? type = g.GetString(k + "type");
        double factor = g.GetFloat(k + "factor") ?? 1.0;
        double linear = g.GetFloat($"{arch}.rope.scale_linear") ?? 1.0;
        long? original = g.GetInt(k + "original_context_length");
        if (original is long o && (o <= 0 || o > int.MaxValue)) throw new ModelFileException(path, $"'{k}original_context_length' is {o}");

        float[]? freqs = null;
        if (g.TryGetTensor("rope_freqs.weight", out var info))
        {
            if (info.Dims.Length != 1) throw new ModelFileException(path, "tensor 'rope_freqs.weight' should be one-dimensional");
            freqs = Vector(g, "rope_freqs.weight");
        }

        if (type == "llama3" || (type == null && g.Has(k + "low_freq_factor")))
        {
            double low = g.GetFloat(k + "low_freq_factor") ?? throw new ModelFileException(path, $"'{k}low_freq_factor' is missing");
            double high = g.GetFloat(k + "high_freq_factor") ?? throw new ModelFileException(path, $"'{k}high_freq_factor' is missing");
            var s = new RopeScaling(factor, low, high, (int)(original ?? throw new ModelFileException(path, $"'{k}original_context_length' is missing")));
            if (!(factor >= 1 && low > 0 && high > low)) throw new ModelFileException(path, $"Llama 3 rope scaling {s} is implausible");
            return (s, freqs);
        }
        if (type is not (null or "none") && !(type == "linear" && factor == 1.0))
            throw new ModelFileException(path, $"rope scaling type '{type}' is not supported (only Llama 3 scaling is)");
        if (linear != 1.0) throw new ModelFileException(path, $"linear rope scaling {linear} is not supported");
        if (freqs == null) return (null, null);

        int orig = (int)(original ?? 8192);
        var fitted = Llama3RopeFactors.Fit(freqs, c.RopeDim, c.RopeTheta, orig, path);
        if (fitted != null) notes["rope_scaling"] = $"Llama 3 scaling recovered from rope_freqs.weight: {fitted}";
        return (fitted, freqs);
    }

    static WeightTensor Matrix(GgufFile g, string name)
    {
        if (!g.TryGetTensor(name, out var t)) throw new ModelFileException(g.Path, $"tensor '{name}' is missing");
        if (t.Dims.Length != 2) throw new ModelFileException(g.Path, $"tensor '{name}' has {t.Dims.Length} dimensions; a weight matrix needs 2");
        return g.View(t);
    }

    /// <summary>A norm or bias, copied to F32 (small, and read on every token).</summary>
    static float[] Vector(GgufFile g, string name)
    {
        if (!g.TryGetTensor(name, out var t)) throw new ModelFileException(g.Path, $"tensor '{name}' is missing");
        if (t.Dims.Length != 1) throw new ModelFileException(g.Path, $"tensor '{name}' has {t.Dims.Length} dimensions; a vector needs 1");
        if (t.Type is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16))
            throw new ModelFileException(g.Path, $"vector '{name}' is stored as {t.Type}; norms and biases must be F32, F16 or BF16");
        return g.View(t).ToFloat32();
    }
}
