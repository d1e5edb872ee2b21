using System.Text.Json;
using Sieve.Formats.Gguf;
using Sieve.Formats.HuggingFace;
using Sieve.Models;
using Sieve.Tensors;

namespace Sieve.Formats.Conversion;

/// <summary>
/// Writes a loaded checkpoint out as a llama.cpp-compatible GGUF, or as a Hugging Face folder (config.json +
/// F32 model.safetensors). Weights stream row by row from the source maps to the output file.
/// </summary>
public static class ModelConverter
{
    /// <summary>llama.cpp's <c>llama_ftype</c> for a file whose matrices are mostly <paramref name="t"/>.</summary>
    public static uint FileType(GgmlType t) => t switch
    {
        GgmlType.F32 => 0,
        GgmlType.F16 => 1,
        GgmlType.Q4_0 => 2,
        GgmlType.Q8_0 => 7,
        GgmlType.BF16 => 32,
        _ => throw new ArgumentException($"converting to {t} is not supported (F32, F16, Q8_0 and Q4_0 are)"),
    };

    /// <summary>
    /// Converts <paramref name="src"/> to a GGUF file with matrices in <paramref name="target"/> (F32, F16, Q8_0 or
    /// Q4_0) and norms/biases in F32. <paramref name="tokenizerMetadata"/> (the <c>tokenizer.*</c> keys) is written
    /// as given. A matrix whose rows do not divide into <paramref name="target"/>'s blocks is written as F16
    /// instead, and <paramref name="notice"/> says so (llama.cpp's quantizer refuses such models outright).
    /// <paramref name="outPath"/> may not be a file <paramref name="src"/> was read from (see
    /// <see cref="ConvertDestination"/>); a failure to write names it.
    /// </summary>
    public static void ToGguf(LoadedCheckpoint src, IReadOnlyDictionary<string, object> tokenizerMetadata, GgmlType target,
        string outPath, IProgress<double>? progress = null, Action<string>? notice = null)
    {
        if (target is not (GgmlType.F32 or GgmlType.F16 or GgmlType.Q8_0 or GgmlType.Q4_0))
            throw new ArgumentException($"converting to {target} is not supported (F32, F16, Q8_0 and Q4_0 are)");
        ConvertDestination.Check(outPath, ConvertDestination.SourcesOf(src));
        var c = src.Config;
        string arch = c.Architecture;
        if (!Architectures.IsSupported(arch)) throw new ArgumentException($"architecture '{arch}' cannot be written");

        // GGUF llama files pair RoPE dimensions interleaved; qwen files keep rotate-half. Reorder Q/K rows when
        // the source pairs them the other way, so the file means the same model to llama.cpp.
        var style = Architectures.GgufRopeStyle(arch);
        var (qOrder, kOrder) = Orders(c, style);

        var w = new GgufWriter();
        w.Add("general.architecture", arch);
        w.Add("general.name", NameOf(src.Path));
        w.Add("general.file_type", FileType(target));
        if (TypeTraits.Of(target).IsQuantized) w.Add("general.quantization_version", 2u);
        string k = arch + ".";
        w.Add(k + "vocab_size", (uint)c.VocabSize);
        w.Add(k + "context_length", (uint)c.ContextLength);
        w.Add(k + "embedding_length", (uint)c.Dim);
        w.Add(k + "block_count", (uint)c.LayerCount);
        w.Add(k + "feed_forward_length", (uint)c.FfnDim);
        w.Add(k + "attention.head_count", (uint)c.HeadCount);
        w.Add(k + "attention.head_count_kv", (uint)c.KvHeadCount);
        w.Add(k + "attention.key_length", (uint)c.HeadDim);
        w.Add(k + "attention.value_length", (uint)c.HeadDim);
        w.Add(k + "attention.layer_norm_rms_epsilon", c.NormEps);
        w.Add(k + "rope.freq_base", c.RopeTheta);
        w.Add(k + "rope.dimension_count", (uint)c.RopeDim);
        if (Architectures.IsGemma(arch)) WriteGemmaKeys(w, c);

        foreach (var (key, value) in tokenizerMetadata)
        {
            if (w.HasKey(key)) { notice?.Invoke($"tokenizer metadata key '{key}' clashes with a model key and was left out"); continue; }
            w.Add(key, value);
        }
        if (tokenizerMetadata.TryGetValue("tokenizer.ggml.tokens", out var tokens) && tokens is Array ta && ta.Length != c.VocabSize)
            notice?.Invoke($"the vocabulary has {ta.Length} tokens but the model has {c.VocabSize} embedding rows; llama.cpp will refuse the file");

        var wts = src.Weights;
        void Matrix(string name, WeightTensor t, int[]? order = null)
        {
            var type = target;
            if (t.Cols % TypeTraits.Of(target).BlockSize != 0)
            {
                type = GgmlType.F16;
                notice?.Invoke($"{name}: rows of {t.Cols} do not divide into {target} blocks of {TypeTraits.Of(target).BlockSize}; written as F16");
            }
            w.AddTensor(name, type, [t.Cols, t.Rows], TensorStreams.Rows(t, type, order));
        }
        void Vector(string name, float[] v) => w.AddTensor(name, v);

        Matrix("token_embd.weight", wts.TokenEmbedding);
        if (c.RopeScaling != null)
            Vector("rope_freqs.weight", src.RopeFreqFactors ?? Llama3RopeFactors.Compute(c.RopeScaling, c.RopeDim, c.RopeTheta));
        Vector("output_norm.weight", wts.OutputNorm);
        if (!c.TiedEmbeddings && !ReferenceEquals(wts.Output, wts.TokenEmbedding)) Matrix("output.weight", wts.Output);
        for (int i = 0; i < c.LayerCount; i++)
        {
            WriteLayer(LayerTensorNames.Gguf(i), wts.Layers[i], c, style, qOrder, kOrder, Matrix, Vector);
        }
        ConvertDestination.Write(outPath, () => w.Write(outPath, progress));
    }

    /// <summary>
    /// Gemma's hyper-parameters under llama.cpp's keys, plus the per-layer pattern, Gemma 3's local RoPE base and
    /// the query scalar, which llama.cpp b4748 derives itself (and ignores here) but Sieve reads back.
    /// </summary>
    static void WriteGemmaKeys(GgufWriter w, ModelConfig c)
    {
        string k = c.Architecture + ".";
        if (c.SlidingWindow > 0) w.Add(k + "attention.sliding_window", (uint)c.SlidingWindow);
        w.Add(k + "attention.sliding_window_pattern", Enumerable.Range(0, c.LayerCount).Select(c.IsSliding).ToArray());
        if (c.Architecture == Architectures.Gemma2)
        {
            w.Add(k + "attn_logit_softcapping", c.AttnLogitSoftcap);
            w.Add(k + "final_logit_softcapping", c.FinalLogitSoftcap);
        }
        else
        {
            if (c.FinalLogitSoftcap > 0) w.Add(k + "final_logit_softcapping", c.FinalLogitSoftcap);
            if (c.AttnLogitSoftcap > 0) throw new NotSupportedException("a Gemma 3 model with an attention soft-cap cannot be written (llama.cpp would drop it)");
            if (c.SlidingRopeTheta > 0) w.Add(k + "rope.freq_base_swa", c.SlidingRopeTheta);
            if (c.RopeLinearFactor != 1f) { w.Add(k + "rope.scaling.type", "linear"); w.Add(k + "rope.scaling.factor", c.RopeLinearFactor); }
        }
        w.Add(k + "attention.query_pre_attn_scalar", c.QueryPreAttnScalar > 0 ? c.QueryPreAttnScalar : c.HeadDim);
    }

    /// <summary>One block's tensors under a format's names, Q/K rows (and their biases and norms) in the target RoPE order.</summary>
    static void WriteLayer(LayerTensorNames n, LayerWeights l, ModelConfig c, RopeStyle style, int[]? qOrder, int[]? kOrder,
        Action<string, WeightTensor, int[]?> matrix, Action<string, float[]> vector)
    {
        vector(n.AttnNorm, l.AttnNorm);
        matrix(n.Wq, l.Wq, qOrder);
        matrix(n.Wk, l.Wk, kOrder);
        matrix(n.Wv, l.Wv, null);
        matrix(n.Wo, l.Wo, null);
        if (l.Bq != null) vector(n.Bq, QkPermutation.Apply(l.Bq, qOrder));
        if (l.Bk != null) vector(n.Bk, QkPermutation.Apply(l.Bk, kOrder));
        if (l.Bv != null) vector(n.Bv, l.Bv);
        if (l.QNorm != null) vector(n.QNorm, PermuteHeadVector(l.QNorm, c, style));
        if (l.KNorm != null) vector(n.KNorm, PermuteHeadVector(l.KNorm, c, style));
        if (l.PostAttnNorm != null) vector(n.PostAttnNorm, l.PostAttnNorm);
        vector(n.FfnNorm, l.FfnNorm);
        if (l.PostFfnNorm != null) vector(n.PostFfnNorm, l.PostFfnNorm);
        matrix(n.Gate, l.Gate, null);
        matrix(n.Up, l.Up, null);
        matrix(n.Down, l.Down, null);
    }

    /// <summary>
    /// Writes <paramref name="folder"/>/config.json and model.safetensors (all F32) in Hugging Face's layout, with
    /// Q/K rows in rotate-half order. Meant for tests of the Hugging Face path from the small trained fixtures.
    /// </summary>
    public static void ToHuggingFace(LoadedCheckpoint src, string folder, IProgress<double>? progress = null)
    {
        var c = src.Config;
        if (!Architectures.IsSupported(c.Architecture)) throw new ArgumentException($"architecture '{c.Architecture}' cannot be written");
        Directory.CreateDirectory(folder);
        var (qOrder, kOrder) = Orders(c, RopeStyle.Neox);
        var st = new SafeTensorsWriter();
        void Matrix(string name, WeightTensor t, int[]? order = null) =>
            st.Add(name, GgmlType.F32, [t.Rows, t.Cols], TensorStreams.Rows(t, GgmlType.F32, order));
        // Gemma's Hugging Face norms store w of x·(1 + w); Sieve holds 1 + w (as GGUF does), so take the 1 back out.
        bool gemma = Architectures.IsGemma(c.Architecture);
        void Vector(string name, float[] v) => st.Add(name, GgmlType.F32, [v.Length],
            TensorStreams.Vector(gemma && name.EndsWith("norm.weight", StringComparison.Ordinal) ? v.Select(x => x - 1f).ToArray() : v));

        var wts = src.Weights;
        Matrix("model.embed_tokens.weight", wts.TokenEmbedding);
        for (int i = 0; i < c.LayerCount; i++)
        {
            WriteLayer(LayerTensorNames.HuggingFace(i, c.Architecture), wts.Layers[i], c, RopeStyle.Neox, qOrder, kOrder, Matrix, Vector);
        }
        Vector("model.norm.weight", wts.OutputNorm);
        bool tied = c.TiedEmbeddings || ReferenceEquals(wts.Output, wts.TokenEmbedding);
        if (!tied) Matrix("lm_head.weight", wts.Output);

        st.Write(Path.Combine(folder, "model.safetensors"), progress);
        File.WriteAllBytes(Path.Combine(folder, "config.json"), HfConfigJson(c, tied));
    }

    static (int[]? Q, int[]? K) Orders(ModelConfig c, RopeStyle to)
    {
        if (c.RopeStyle == to) return (null, null);
        // The permutation reorders whole heads; with partial RoPE the unrotated tail would be scrambled.
        if (c.RopeDim != c.HeadDim)
            throw new NotSupportedException($"cannot reorder Q/K between RoPE pairings when only {c.RopeDim} of {c.HeadDim} head dimensions rotate");
        return (QkPermutation.RowOrder(c.RopeStyle, to, c.HeadCount, c.HeadDim), QkPermutation.RowOrder(c.RopeStyle, to, c.KvHeadCount, c.HeadDim));
    }

    /// <summary>A per-head norm (Qwen3 q_norm/k_norm) follows its head's dimensions when they are reordered.</summary>
    static float[] PermuteHeadVector(float[] v, ModelConfig c, RopeStyle to) =>
        QkPermutation.Apply(v, c.RopeStyle == to ? null : QkPermutation.RowOrder(c.RopeStyle, to, 1, c.HeadDim));

    static string NameOf(string path) => Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(path));

    static byte[] HfConfigJson(ModelConfig c, bool tied)
    {
        var (modelType, cls) = c.Architecture switch
        {
            Architectures.Qwen2 => ("qwen2", "Qwen2ForCausalLM"),
            Architectures.Qwen3 => ("qwen3", "Qwen3ForCausalLM"),
            Architectures.Gemma2 => ("gemma2", "Gemma2ForCausalLM"),
            Architectures.Gemma3 => ("gemma3_text", "Gemma3ForCausalLM"),
            _ => ("llama", "LlamaForCausalLM"),
        };
        var ms = new MemoryStream();
        using (var j = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            j.WriteStartObject();
            j.WriteStartArray("architectures"); j.WriteStringValue(cls); j.WriteEndArray();
            j.WriteString("model_type", modelType);
            j.WriteNumber("hidden_size", c.Dim);
            j.WriteNumber("num_hidden_layers", c.LayerCount);
            j.WriteNumber("num_attention_heads", c.HeadCount);
            j.WriteNumber("num_key_value_heads", c.KvHeadCount);
            j.WriteNumber("head_dim", c.HeadDim);
            j.WriteNumber("intermediate_size", c.FfnDim);
            j.WriteNumber("vocab_size", c.VocabSize);
            j.WriteNumber("max_position_embeddings", c.ContextLength);
            j.WriteNumber("rms_norm_eps", c.NormEps);
            j.WriteNumber("rope_theta", c.RopeTheta);
            if (Architectures.IsGemma(c.Architecture))
            {
                j.WriteNumber("query_pre_attn_scalar", c.QueryPreAttnScalar > 0 ? c.QueryPreAttnScalar : c.HeadDim);
                j.WriteNumber("sliding_window", c.SlidingWindow);
                j.WriteStartArray("layer_types");
                for (int l = 0; l < c.LayerCount; l++) j.WriteStringValue(c.IsSliding(l) ? "sliding_attention" : "full_attention");
                j.WriteEndArray();
                if (c.AttnLogitSoftcap > 0) j.WriteNumber("attn_logit_softcapping", c.AttnLogitSoftcap); else j.WriteNull("attn_logit_softcapping");
                if (c.FinalLogitSoftcap > 0) j.WriteNumber("final_logit_softcapping", c.FinalLogitSoftcap); else j.WriteNull("final_logit_softcapping");
                if (c.SlidingRopeTheta > 0) j.WriteNumber("rope_local_base_freq", c.SlidingRopeTheta);
                j.WriteString("hidden_activation", "gelu_pytorch_tanh");
            }
            if (c.RopeLinearFactor != 1f)
            {
                j.WriteStartObject("rope_scaling");
                j.WriteString("rope_type", "linear");
                j.WriteNumber("factor", c.RopeLinearFactor);
                j.WriteEndObject();
            }
            else if (c.RopeScaling is { } s)
            {
                j.WriteStartObject("rope_scaling");
                j.WriteString("rope_type", "llama3");
                j.WriteNumber("factor", s.Factor);
                j.WriteNumber("low_freq_factor", s.LowFreqFactor);
                j.WriteNumber("high_freq_factor", s.HighFreqFactor);
                j.WriteNumber("original_max_position_embeddings", s.OriginalContextLength);
                j.WriteEndObject();
            }
            else j.WriteNull("rope_scaling");
            j.WriteBoolean("tie_word_embeddings", tied);
            if (c.Architecture == Architectures.Llama) j.WriteBoolean("attention_bias", c.QkvBias);
            if (!Architectures.IsGemma(c.Architecture)) j.WriteString("hidden_act", "silu");
            j.WriteString("torch_dtype", "float32");
            j.WriteEndObject();
        }
        return ms.ToArray();
    }
}
