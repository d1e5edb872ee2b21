using System.Text.Json.Nodes;
using Sieve.Formats;
using Sieve.Formats.Conversion;
using Sieve.Formats.HuggingFace;
using Sieve.Models;
using Sieve.Tensors;
using Sieve.Tests.Cli;
using Sieve.Tests.Models;
using Sieve.Threading;
using Sieve.Tokenization;

namespace Sieve.Tests.Formats;

/// <summary>Gemma files as users meet them: llama.cpp-style GGUF keys, multimodal Gemma 3 folders, and the ways they go wrong.</summary>
public class GemmaFormatTests
{
    static readonly Dictionary<string, object> NoTokenizer = [];

    static string WriteGguf(string arch, string dir, IReadOnlyDictionary<string, object>? tokenizer = null, int vocab = 0)
    {
        var c = GemmaReferenceTests.Config(arch);
        if (vocab > 0) c = c with { VocabSize = vocab };
        var w = GemmaReferenceTests.Weights(c, 3);
        string path = Path.Combine(dir, arch + ".gguf");
        ModelConverter.ToGguf(new LoadedCheckpoint { Config = c, Weights = w, Path = arch, Format = "random" }, tokenizer ?? NoTokenizer, GgmlType.F32, path);
        return path;
    }

    [Fact]
    public void AMissingNormTensorIsOneClearLine()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var path = GgufRewrite.Copy(WriteGguf("gemma2", dir), keepTensor: n => n != "blk.2.post_ffw_norm.weight");
            var e = Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(path));
            Assert.Contains("blk.2.post_ffw_norm.weight", e.Message);
            Assert.Contains("missing", e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AnInconsistentSlidingWindowPatternIsOneClearLine()
    {
        var dir = Fixtures.TempDir();
        try
        {
            string src = WriteGguf("gemma3", dir);
            string Bad(Action<Dictionary<string, object>> edit) =>
                Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(GgufRewrite.Copy(src, edit))).Message;
            Assert.Contains("inconsistent sliding-window pattern", Bad(m => m["gemma3.attention.sliding_window_pattern"] = new[] { true, false }));
            Assert.Contains("inconsistent sliding-window pattern", Bad(m => m["gemma3.attention.sliding_window_pattern"] = 0u));
            Assert.Contains("inconsistent sliding-window pattern", Bad(m => m["gemma3.attention.sliding_window"] = 0u));
            Assert.Contains("gemma3.attention.sliding_window", Bad(m => m.Remove("gemma3.attention.sliding_window")));

            // llama.cpp's own files carry no pattern key: Gemma 3's period of 6 applies (with 4 layers, all slide).
            using var plain = CheckpointLoader.Load(GgufRewrite.Copy(src, m => m.Remove("gemma3.attention.sliding_window_pattern")));
            Assert.True(Enumerable.Range(0, 4).All(plain.Config.IsSliding));
            using var period = CheckpointLoader.Load(GgufRewrite.Copy(src, m => m["gemma3.attention.sliding_window_pattern"] = 2u));
            Assert.Equal([true, false, true, false], Enumerable.Range(0, 4).Select(period.Config.IsSliding));
        }
        finally { Directory.Delete(dir, true); }
    }

    static JsonObject Config(string folder) => JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!.AsObject();
    static void Save(string folder, JsonObject o) => File.WriteAllText(Path.Combine(folder, "config.json"), o.ToJsonString());

    [Fact]
    public void HuggingFaceLayerTypesMustNameEveryLayer()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var hf = Path.Combine(dir, "hf");
            var c = GemmaReferenceTests.Config("gemma2");
            ModelConverter.ToHuggingFace(new LoadedCheckpoint { Config = c, Weights = GemmaReferenceTests.Weights(c, 5), Path = "g", Format = "random" }, hf);
            var cfg = Config(hf);
            cfg["layer_types"] = new JsonArray("sliding_attention", "full_attention");
            Save(hf, cfg);
            var e = Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(hf));
            Assert.Contains("layer_types names 2 layers but num_hidden_layers is 4", e.Message);
            cfg["layer_types"] = new JsonArray("sliding_attention", "full_attention", "local", "full_attention");
            Save(hf, cfg);
            Assert.Contains("layer_types[2] is 'local'", Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(hf)).Message);
            cfg.Remove("layer_types");
            cfg["sliding_window"] = 0;
            Save(hf, cfg);
            Assert.Contains("inconsistent sliding-window pattern", Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(hf)).Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>
    /// Gemma3ForConditionalGeneration as transformers &lt; 4.52 saves it: the decoder under language_model.model.,
    /// its config under text_config (listing only what differs from Gemma3TextConfig), and a vision tower Sieve leaves out.
    /// </summary>
    [Fact]
    public void MultimodalGemma3LoadsItsTextDecoder()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var c = GemmaReferenceTests.Config("gemma3");
            var w = GemmaReferenceTests.Weights(c, 11);
            var src = new LoadedCheckpoint { Config = c, Weights = w, Path = "g", Format = "random" };
            var text = Path.Combine(dir, "text");
            ModelConverter.ToHuggingFace(src, text);

            var mm = Path.Combine(dir, "mm");
            Directory.CreateDirectory(mm);
            using (var st = SafeTensorsFile.Open(Path.Combine(text, "model.safetensors")))
            {
                var writer = new SafeTensorsWriter();
                foreach (var (name, info) in st.Tensors)
                {
                    var t = st.View(name);
                    writer.Add(name.Replace("model.", "language_model.model."), GgmlType.F32, info.Shape, TensorStreams.Rows(t, GgmlType.F32));
                }
                writer.Add("vision_tower.vision_model.embeddings.patch_embedding.weight", GgmlType.F32, [2, 3], s => s.Write(new byte[24]));
                writer.Write(Path.Combine(mm, "model.safetensors"));
            }
            var textCfg = Config(text);
            textCfg.Remove("architectures");
            textCfg["model_type"] = "gemma3_text";
            Save(mm, new JsonObject
            {
                ["architectures"] = new JsonArray("Gemma3ForConditionalGeneration"),
                ["model_type"] = "gemma3",
                ["text_config"] = textCfg,
                ["vision_config"] = new JsonObject { ["model_type"] = "siglip_vision_model" },
            });

            using var a = CheckpointLoader.Load(text);
            using var b = CheckpointLoader.Load(mm);
            Assert.Equal("gemma3", b.Config.Architecture);
            Assert.NotNull(b.Notes);
            Assert.Contains(b.Notes!, n => n.Value.Contains("vision tower"));
            using var pool = new WorkerPool(1);
            float[] Run(LoadedCheckpoint ck) { var tf = new ForwardRunner(new Transformer(ck.Config, ck.Weights), pool); return tf.Prefill([1, 2, 3, 4, 5], 0, tf.CreateDenseCache(8)).ToArray(); }
            Assert.Equal(Run(a), Run(b));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Gemma3TextConfigDefaultsFillWhatAMultimodalConfigLeavesOut()
    {
        // The shape of google/gemma-3-4b-it's config.json: text_config lists only what differs from the defaults.
        var json = """
        {"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
         "text_config": {"hidden_size": 2560, "intermediate_size": 10240, "model_type": "gemma3_text", "num_hidden_layers": 34,
                         "rope_scaling": {"factor": 8.0, "rope_type": "linear"}, "sliding_window": 1024},
         "vision_config": {"model_type": "siglip_vision_model"}}
        """;
        var notes = new Dictionary<string, string>();
        var c = HfConfig.Parse(System.Text.Encoding.UTF8.GetBytes(json), "config.json").ToModelConfig("config.json", notes);
        Assert.Equal(("gemma3", 2560, 34, 8, 4, 256, 262208), (c.Architecture, c.Dim, c.LayerCount, c.HeadCount, c.KvHeadCount, c.HeadDim, c.VocabSize));
        Assert.Equal((1024, 8f, 1_000_000f, 10000f, 256f, 0f), (c.SlidingWindow, c.RopeLinearFactor, c.RopeTheta, c.SlidingRopeTheta, c.QueryPreAttnScalar, c.FinalLogitSoftcap));
        Assert.Equal([5, 11, 17, 23, 29], Enumerable.Range(0, 34).Where(l => !c.IsSliding(l)));
        Assert.Contains("num_attention_heads", notes.Keys);
    }

    [Fact]
    public void InfoShowsWhichLayersSlide()
    {
        var dir = Fixtures.TempDir();
        try
        {
            string path = WriteGguf("gemma3", dir, SyntheticVocabulary.GgufMetadata(300), vocab: 300);
            var r = CliRunner.Run(["info", "-m", path]);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Contains("layers 0-2", r.Stdout);
            Assert.Contains("sliding 3, RoPE base 10000", r.Stdout);
            Assert.Contains("layers 3", r.Stdout);
            Assert.Contains("global, RoPE base 1000000, linear ×8", r.Stdout);
        }
        finally { Directory.Delete(dir, true); }
    }
}
