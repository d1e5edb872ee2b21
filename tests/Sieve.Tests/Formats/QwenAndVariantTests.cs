using Sieve.Formats;
using Sieve.Formats.Conversion;
using Sieve.Formats.Gguf;
using Sieve.Formats.HuggingFace;
using Sieve.Models;
using Sieve.Tensors;

namespace Sieve.Tests.Formats;

/// <summary>
/// Qwen2/Qwen3 and config variants, on small synthetic files (no such fixture ships): written with GgufWriter
/// or as config.json + safetensors, then loaded and converted.
/// </summary>
public class QwenAndVariantTests
{
    const int Dim = 32, Layers = 2, Heads = 4, KvHeads = 2, HeadDim = 16, Ffn = 48, Vocab = 64;

    static float[] Random(Random rng, int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();

    /// <summary>A tiny GGUF of <paramref name="arch"/>; <paramref name="extra"/> may add or change things.</summary>
    static string WriteGguf(string arch, Action<GgufWriter, Random>? extra = null, bool tied = true, Func<string, bool>? skip = null)
    {
        var rng = new Random(7);
        var w = new GgufWriter();
        w.Add("general.architecture", arch);
        w.Add($"{arch}.context_length", 4096u);
        w.Add($"{arch}.embedding_length", (uint)Dim);
        w.Add($"{arch}.block_count", (uint)Layers);
        w.Add($"{arch}.feed_forward_length", (uint)Ffn);
        w.Add($"{arch}.attention.head_count", (uint)Heads);
        w.Add($"{arch}.attention.head_count_kv", (uint)KvHeads);
        w.Add($"{arch}.attention.key_length", (uint)HeadDim);
        w.Add($"{arch}.attention.layer_norm_rms_epsilon", 1e-6f);
        w.Add($"{arch}.rope.freq_base", 1000000f);
        void M(string name, int rows, int cols) { if (skip?.Invoke(name) != true) { var v = Random(rng, rows * cols); w.AddTensor(name, GgmlType.F32, [cols, rows], TensorStreams.Vector(v)); } }
        void V(string name, int n) { if (skip?.Invoke(name) != true) w.AddTensor(name, Random(rng, n)); }
        M("token_embd.weight", Vocab, Dim);
        V("output_norm.weight", Dim);
        if (!tied) M("output.weight", Vocab, Dim);
        for (int i = 0; i < Layers; i++)
        {
            string p = $"blk.{i}.";
            V(p + "attn_norm.weight", Dim);
            M(p + "attn_q.weight", Heads * HeadDim, Dim);
            M(p + "attn_k.weight", KvHeads * HeadDim, Dim);
            M(p + "attn_v.weight", KvHeads * HeadDim, Dim);
            M(p + "attn_output.weight", Dim, Heads * HeadDim);
            if (arch == "qwen2") { V(p + "attn_q.bias", Heads * HeadDim); V(p + "attn_k.bias", KvHeads * HeadDim); V(p + "attn_v.bias", KvHeads * HeadDim); }
            if (arch == "qwen3") { V(p + "attn_q_norm.weight", HeadDim); V(p + "attn_k_norm.weight", HeadDim); }
            V(p + "ffn_norm.weight", Dim);
            M(p + "ffn_gate.weight", Ffn, Dim);
            M(p + "ffn_up.weight", Ffn, Dim);
            M(p + "ffn_down.weight", Dim, Ffn);
        }
        extra?.Invoke(w, rng);
        string path = Path.Combine(Fixtures.TempDir(), arch + ".gguf");
        w.Write(path);
        return path;
    }

    [Theory]
    [InlineData("qwen2")]
    [InlineData("qwen3")]
    public void QwenGgufLoadsAndRoundTripsThroughHuggingFace(string arch)
    {
        using var g = CheckpointLoader.Load(WriteGguf(arch));
        var c = g.Config;
        Assert.Equal(arch, c.Architecture);
        Assert.Equal(RopeStyle.Neox, c.RopeStyle);
        Assert.Equal((Dim, Layers, Heads, KvHeads, HeadDim, Ffn, Vocab), (c.Dim, c.LayerCount, c.HeadCount, c.KvHeadCount, c.HeadDim, c.FfnDim, c.VocabSize));
        Assert.Equal(1e-6f, c.NormEps);
        Assert.Equal(1e6f, c.RopeTheta);
        Assert.True(c.TiedEmbeddings);
        Assert.Equal(arch == "qwen2", c.QkvBias);
        Assert.Equal(arch == "qwen3", c.QkNorm);
        Assert.Equal(arch == "qwen2", g.Weights.Layers[1].Bk != null);
        Assert.Equal(arch == "qwen3", g.Weights.Layers[1].KNorm?.Length == HeadDim);

        // Qwen keeps rotate-half order in both formats: no permutation either way, every byte the same.
        string folder = Fixtures.TempDir();
        ModelConverter.ToHuggingFace(g, folder);
        using var hf = CheckpointLoader.Load(folder);
        CheckpointAssert.SameShape(c, hf.Config);
        Assert.Equal(RopeStyle.Neox, hf.Config.RopeStyle);
        CheckpointAssert.SameWeights(g.Weights, hf.Weights);

        string back = Path.Combine(folder, "back.gguf");
        ModelConverter.ToGguf(hf, new Dictionary<string, object>(), GgmlType.F32, back);
        using var again = CheckpointLoader.Load(back);
        CheckpointAssert.SameWeights(g.Weights, again.Weights);
    }

    [Fact]
    public void HfLlamaWithBiasesIsPermutedToGgufAndBack()
    {
        // A llama GGUF with Q/K/V biases (attention_bias): the Q/K biases must follow their rows.
        string path = WriteGguf("qwen2");
        using var q = CheckpointLoader.Load(path);
        string folder = Fixtures.TempDir();
        ModelConverter.ToHuggingFace(q, folder);
        string cfg = Path.Combine(folder, "config.json");
        File.WriteAllText(cfg, File.ReadAllText(cfg).Replace("\"qwen2\"", "\"llama\"").Replace("Qwen2ForCausalLM", "LlamaForCausalLM")
            .Replace("\"tie_word_embeddings\"", "\"attention_bias\": true, \"tie_word_embeddings\""));
        using var hfLlama = CheckpointLoader.Load(folder);
        Assert.Equal("llama", hfLlama.Config.Architecture);
        Assert.True(hfLlama.Config.QkvBias);

        string gguf = Path.Combine(folder, "llama.gguf");
        ModelConverter.ToGguf(hfLlama, new Dictionary<string, object>(), GgmlType.F32, gguf);
        using var g = CheckpointLoader.Load(gguf);
        Assert.Equal(RopeStyle.Interleaved, g.Config.RopeStyle);
        var order = QkPermutation.RowOrder(RopeStyle.Neox, RopeStyle.Interleaved, Heads, HeadDim);
        Assert.Equal(QkPermutation.Apply(hfLlama.Weights.Layers[0].Bq!, order), g.Weights.Layers[0].Bq);
        Assert.Equal(hfLlama.Weights.Layers[0].Bv, g.Weights.Layers[0].Bv);
        Assert.True(g.Config.QkvBias);   // llama GGUF: biases taken when present, as llama.cpp does
        // And back to HF: the inverse permutation restores every byte.
        string folder2 = Fixtures.TempDir();
        ModelConverter.ToHuggingFace(g, folder2);
        using var again = HuggingFaceCheckpoint.Load(folder2);
        CheckpointAssert.SameWeights(hfLlama.Weights, again.Weights);
    }

    [Fact]
    public void UnknownTensorsAndUnsupportedTypesAreRefused()
    {
        var e = Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(WriteGguf("llama", (w, rng) => w.AddTensor("blk.0.attn_output.bias", new float[Dim]))));
        Assert.Contains("'blk.0.attn_output.bias' is not part of the llama architecture", e.Message);

        e = Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(WriteGguf("llama",
            (w, rng) => w.AddTensor("blk.0.ffn_down.weight", GgmlType.Q5_K, [256, Dim], s => s.Write(new byte[176 * Dim])),
            skip: n => n == "blk.0.ffn_down.weight")));
        Assert.Contains("Q5_K", e.Message);

        e = Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(WriteGguf("qwen3", skip: n => n == "blk.1.attn_k_norm.weight")));
        Assert.Contains("'blk.1.attn_k_norm.weight' is missing", e.Message);

        e = Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(WriteGguf("phi3")));
        Assert.Contains("unsupported architecture 'phi3'", e.Message);

        e = Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(WriteGguf("llama", (w, _) => { w.Add("llama.rope.scaling.type", "yarn"); w.Add("llama.rope.scaling.factor", 4f); })));
        Assert.Contains("rope scaling type 'yarn'", e.Message);
    }

    [Fact]
    public void ExplicitLlama3KeysAndRopeFreqsInGguf()
    {
        using (var ck = CheckpointLoader.Load(WriteGguf("llama", (w, _) =>
        {
            w.Add("llama.rope.scaling.type", "llama3");
            w.Add("llama.rope.scaling.factor", 8f);
            w.Add("llama.rope.scaling.low_freq_factor", 1f);
            w.Add("llama.rope.scaling.high_freq_factor", 4f);
            w.Add("llama.rope.scaling.original_context_length", 8192u);
        })))
            Assert.Equal(new RopeScaling(8, 1, 4, 8192), ck.Config.RopeScaling);

        var factors = Llama3RopeFactors.Compute(new RopeScaling(8, 1, 4, 8192), HeadDim, 1e6);
        using (var ck = CheckpointLoader.Load(WriteGguf("llama", (w, _) => w.AddTensor("rope_freqs.weight", factors))))
        {
            Assert.Equal(factors, ck.RopeFreqFactors);
            Assert.Equal(factors, Llama3RopeFactors.Compute(ck.Config.RopeScaling!, HeadDim, 1e6));
            Assert.Contains("rope_scaling", ck.Notes!.Keys);
        }
        var bad = (float[])factors.Clone();
        bad[0] = 3;
        Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(WriteGguf("llama", (w, _) => w.AddTensor("rope_freqs.weight", bad))));
    }

    static HfConfig Parse(string json) => HfConfig.Parse(System.Text.Encoding.UTF8.GetBytes(json), "config.json");

    const string Base = "\"hidden_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 8, \"intermediate_size\": 128, \"vocab_size\": 100";

    [Fact]
    public void HfConfigVariants()
    {
        var notes = new Dictionary<string, string>();
        var mistral = Parse($"{{\"model_type\": \"mistral\", {Base}, \"num_key_value_heads\": 2, \"max_position_embeddings\": 32768, \"sliding_window\": 4096, \"rope_theta\": 10000.0, \"rms_norm_eps\": 1e-05}}").ToModelConfig("config.json", notes);
        Assert.Equal("llama", mistral.Architecture);
        // Every Mistral layer slides over 4096 positions; the context stays what the config says.
        Assert.Equal((32768, 4096), (mistral.ContextLength, mistral.SlidingWindow));
        Assert.True(Enumerable.Range(0, mistral.LayerCount).All(mistral.IsSliding));
        Assert.Equal(RopeStyle.Neox, mistral.RopeStyle);
        Assert.Equal(8, mistral.HeadDim);
        Assert.Equal(2, mistral.KvHeadCount);

        // Mistral v0.2+ (no window); Qwen2 with use_sliding_window false keeps its full context.
        Assert.Equal(32768, Parse($"{{\"model_type\": \"mistral\", {Base}, \"max_position_embeddings\": 32768, \"sliding_window\": null}}").ToModelConfig("c").ContextLength);
        var qwen2 = Parse($"{{\"model_type\": \"qwen2\", {Base}, \"max_position_embeddings\": 32768, \"sliding_window\": 4096, \"use_sliding_window\": false, \"tie_word_embeddings\": true}}").ToModelConfig("c");
        Assert.Equal((32768, true, true, 0), (qwen2.ContextLength, qwen2.QkvBias, qwen2.TiedEmbeddings, qwen2.SlidingWindow));
        // Qwen2 with use_sliding_window: layers from max_window_layers on slide (transformers' Qwen2Config).
        var qwen2w = Parse($"{{\"model_type\": \"qwen2\", {Base}, \"sliding_window\": 4096, \"use_sliding_window\": true, \"max_window_layers\": 1}}").ToModelConfig("c");
        Assert.Equal((false, true), (qwen2w.IsSliding(0), qwen2w.IsSliding(1)));

        var qwen3 = Parse($"{{\"model_type\": \"qwen3\", {Base}, \"head_dim\": 16, \"rope_theta\": 1000000}}").ToModelConfig("c");
        Assert.Equal((16, 16, true, false), (qwen3.HeadDim, qwen3.RopeDim, qwen3.QkNorm, qwen3.QkvBias));

        var llama31 = Parse($"{{\"model_type\": \"llama\", {Base}, \"rope_scaling\": {{\"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192, \"rope_type\": \"llama3\"}}, \"torch_dtype\": \"bfloat16\"}}").ToModelConfig("c");
        Assert.Equal(new RopeScaling(8, 1, 4, 8192), llama31.RopeScaling);

        // transformers 5 layout: theta and type under rope_parameters.
        var v5 = Parse($"{{\"model_type\": \"llama\", {Base}, \"rope_parameters\": {{\"rope_type\": \"default\", \"rope_theta\": 500000.0}}, \"dtype\": \"bfloat16\"}}").ToModelConfig("c");
        Assert.Equal(500000f, v5.RopeTheta);
        Assert.Null(v5.RopeScaling);

        Assert.Contains("rope scaling type 'yarn'", Assert.Throws<ModelFileException>(() =>
            Parse($"{{\"model_type\": \"qwen2\", {Base}, \"rope_scaling\": {{\"type\": \"yarn\", \"factor\": 4.0}}}}").ToModelConfig("c")).Message);
        Assert.Contains("unsupported architecture 'phi3'", Assert.Throws<ModelFileException>(() => Parse($"{{\"model_type\": \"phi3\", {Base}}}").ToModelConfig("c")).Message);
        Assert.Contains("no hidden_size", Assert.Throws<ModelFileException>(() => Parse("{\"model_type\": \"llama\"}").ToModelConfig("c")).Message);
        Assert.Contains("not valid config JSON", Assert.Throws<ModelFileException>(() => Parse("{\"model_type\": \"llama\", \"hidden_size\": \"big\"}")).Message);
        Assert.Contains("not valid config JSON", Assert.Throws<ModelFileException>(() => Parse("[1, 2]")).Message);
    }

    [Fact]
    public void HfExtraTensorsAndPytorchWeightsAreRefused()
    {
        using var g = CheckpointLoader.Load(WriteGguf("qwen2"));
        string folder = Fixtures.TempDir();
        ModelConverter.ToHuggingFace(g, folder);

        // Add an o_proj bias: a Llama/Qwen variant Sieve would run wrongly, so it is refused by name.
        string st = Path.Combine(folder, "model.safetensors");
        var extended = new SafeTensorsWriter();
        using (var f = SafeTensorsFile.Open(st))
        {
            foreach (var (name, t) in f.Tensors)
            {
                var view = f.View(name);
                extended.Add(name, GgmlType.F32, t.Shape, TensorStreams.Rows(view, GgmlType.F32));
            }
            extended.Add("model.layers.0.self_attn.o_proj.bias", GgmlType.F32, [Dim], TensorStreams.Vector(new float[Dim]));
            extended.Add("model.layers.0.self_attn.rotary_emb.inv_freq", GgmlType.F32, [HeadDim / 2], TensorStreams.Vector(new float[HeadDim / 2]));
            extended.Write(Path.Combine(folder, "new.safetensors"));
        }
        File.Move(Path.Combine(folder, "new.safetensors"), st, overwrite: true);
        var e = Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(folder));
        Assert.Contains("'model.layers.0.self_attn.o_proj.bias' is not part of the qwen2 architecture", e.Message);

        File.Delete(st);
        File.WriteAllBytes(Path.Combine(folder, "pytorch_model.bin"), [1, 2, 3]);
        Assert.Contains("PyTorch", Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(folder)).Message);
    }
}
