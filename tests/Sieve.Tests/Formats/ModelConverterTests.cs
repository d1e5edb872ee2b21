using Sieve.Formats;
using Sieve.Formats.Conversion;
using Sieve.Formats.Gguf;
using Sieve.Formats.HuggingFace;
using Sieve.Models;
using Sieve.Tensors;

namespace Sieve.Tests.Formats;

public class ModelConverterTests
{
    static IReadOnlyDictionary<string, object> TokenizerKeys(GgufFile g) =>
        g.Metadata.Where(kv => kv.Key.StartsWith("tokenizer.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);

    [Fact]
    public void Stories260KToF32GgufIsByteIdentical()
    {
        using var src = CheckpointLoader.Load(Fixtures.Stories260KGguf);
        string path = Path.Combine(Fixtures.TempDir(), "s.gguf");
        var notices = new List<string>();
        ModelConverter.ToGguf(src, TokenizerKeys(src.Gguf!), GgmlType.F32, path, null, notices.Add);
        Assert.Empty(notices);

        using var dst = CheckpointLoader.Load(path);
        CheckpointAssert.SameShape(src.Config, dst.Config);
        Assert.Equal(src.Config.ContextLength, dst.Config.ContextLength);
        Assert.Equal(RopeStyle.Interleaved, dst.Config.RopeStyle);
        CheckpointAssert.SameWeights(src.Weights, dst.Weights);
        Assert.Equal(0L, dst.Gguf!.GetInt("general.file_type"));
        Assert.Equal(src.Gguf!.GetArray<string>("tokenizer.ggml.tokens"), dst.Gguf.GetArray<string>("tokenizer.ggml.tokens"));
        Assert.Equal(src.Gguf.GetArray<float>("tokenizer.ggml.scores"), dst.Gguf.GetArray<float>("tokenizer.ggml.scores"));
    }

    [Fact]
    public void TiedLlama2cSourceWritesNoOutputTensor()
    {
        using var src = CheckpointLoader.Load(Fixtures.Stories260KBin);
        string path = Path.Combine(Fixtures.TempDir(), "s.gguf");
        ModelConverter.ToGguf(src, new Dictionary<string, object>(), GgmlType.F32, path);
        using var dst = CheckpointLoader.Load(path);
        Assert.False(dst.Gguf!.TryGetTensor("output.weight", out _));
        Assert.True(dst.Config.TiedEmbeddings);
        Assert.Equal(512, dst.Config.ContextLength);
        CheckpointAssert.SameWeights(src.Weights, dst.Weights);
    }

    [Fact]
    public void F16KeepsValuesToHalfPrecision()
    {
        using var src = CheckpointLoader.Load(Fixtures.Stories260KGguf);
        string path = Path.Combine(Fixtures.TempDir(), "s16.gguf");
        var notices = new List<string>();
        double last = 0;
        ModelConverter.ToGguf(src, TokenizerKeys(src.Gguf!), GgmlType.F16, path, new Inline(p => last = p), notices.Add);
        Assert.Empty(notices);   // F16 has no blocks: every row fits
        Assert.Equal(1.0, last);
        using var dst = CheckpointLoader.Load(path);
        Assert.Equal(1L, dst.Gguf!.GetInt("general.file_type"));
        Assert.Equal(GgmlType.F16, dst.Weights.Layers[0].Down.Type);
        var a = src.Weights.Layers[2].Wq.ToFloat32();
        var b = dst.Weights.Layers[2].Wq.ToFloat32();
        Assert.Equal(a.Select(x => (float)(Half)x), b);
        Assert.Equal(src.Weights.Layers[2].AttnNorm, dst.Weights.Layers[2].AttnNorm);   // norms stay F32
    }

    [Fact]
    public void HuggingFaceRoundTripUndoesThePermutation()
    {
        using var src = CheckpointLoader.Load(Fixtures.Stories260KGguf);
        string folder = Fixtures.TempDir();
        ModelConverter.ToHuggingFace(src, folder);

        using var hf = CheckpointLoader.Load(folder);
        Assert.Equal("huggingface", hf.Format);
        Assert.Equal(RopeStyle.Neox, hf.Config.RopeStyle);
        Assert.Null(hf.TokenizerPath);   // the converter writes no tokenizer files
        CheckpointAssert.SameShape(src.Config, hf.Config);
        Assert.Equal(2048, hf.Config.ContextLength);
        // Everything but Q/K is byte-identical as stored.
        CheckpointAssert.SameWeights(src.Weights, hf.Weights, compareQk: false);

        // Q/K: HF row h·d + s·d/2 + i is GGUF row h·d + 2i + s.
        var c = src.Config;
        for (int layer = 0; layer < c.LayerCount; layer++)
        {
            foreach (var (g, h, heads) in new[] { (src.Weights.Layers[layer].Wq, hf.Weights.Layers[layer].Wq, c.HeadCount), (src.Weights.Layers[layer].Wk, hf.Weights.Layers[layer].Wk, c.KvHeadCount) })
            {
                Assert.Equal(heads * c.HeadDim, h.Rows);
                for (int head = 0; head < heads; head++)
                    for (int i = 0; i < c.HeadDim / 2; i++)
                        for (int s = 0; s < 2; s++)
                            Assert.True(g.Row(head * c.HeadDim + 2 * i + s).SequenceEqual(h.Row(head * c.HeadDim + s * c.HeadDim / 2 + i)));
            }
        }

        // Back to GGUF: the llama permutation restores the original bytes exactly.
        string back = Path.Combine(folder, "back.gguf");
        ModelConverter.ToGguf(hf, TokenizerKeys(src.Gguf!), GgmlType.F32, back);
        using var again = CheckpointLoader.Load(back);
        Assert.Equal(RopeStyle.Interleaved, again.Config.RopeStyle);
        CheckpointAssert.SameWeights(src.Weights, again.Weights);
    }

    [Fact]
    public void LegacyBinToHuggingFaceIsTiedAndLoads()
    {
        using var src = CheckpointLoader.Load(Fixtures.Stories260KBin);
        string folder = Fixtures.TempDir();
        ModelConverter.ToHuggingFace(src, folder);
        var cfg = HfConfig.Read(Path.Combine(folder, "config.json"));
        Assert.True(cfg.TieWordEmbeddings);
        Assert.Equal("llama", cfg.ModelType);
        using var st = SafeTensorsFile.Open(Path.Combine(folder, "model.safetensors"));
        Assert.False(st.Contains("lm_head.weight"));
        Assert.Equal(new long[] { 172, 64 }, st.Tensors["model.layers.0.mlp.gate_proj.weight"].Shape);
        Assert.Equal("pt", st.Metadata["format"]);
        Assert.Equal(0, st.DataOffset % 8);
        using var hf = CheckpointLoader.Load(Path.Combine(folder, "config.json"));   // pointing at config.json means the folder
        Assert.True(hf.Config.TiedEmbeddings);
        Assert.Equal(512, hf.Config.ContextLength);
    }

    [Fact]
    public void QkPermutationsAreInverse()
    {
        var to = QkPermutation.RowOrder(RopeStyle.Neox, RopeStyle.Interleaved, 3, 8)!;
        var back = QkPermutation.RowOrder(RopeStyle.Interleaved, RopeStyle.Neox, 3, 8)!;
        var v = Enumerable.Range(0, 24).Select(i => (float)i).ToArray();
        Assert.Equal(v, QkPermutation.Apply(QkPermutation.Apply(v, to), back));
        // Interleaved row 2i+s of head 0 comes from Neox row s·4+i.
        Assert.Equal(new[] { 0, 4, 1, 5, 2, 6, 3, 7 }, to[..8]);
        Assert.Null(QkPermutation.RowOrder(RopeStyle.Neox, RopeStyle.Neox, 3, 8));
    }

    [Fact]
    public void Llama3ScalingSurvivesHfToGgufToHf()
    {
        // Stories260K's weights under a Llama 3 rope config: GGUF stores the divisors, loading fits them back.
        using var src = CheckpointLoader.Load(Fixtures.Stories260KGguf);
        string folder = Fixtures.TempDir();
        ModelConverter.ToHuggingFace(src, folder);
        string cfgPath = Path.Combine(folder, "config.json");
        string json = File.ReadAllText(cfgPath).Replace("\"rope_scaling\": null",
            "\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 32.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192}")
            .Replace("\"rope_theta\": 10000", "\"rope_theta\": 500000");
        File.WriteAllText(cfgPath, json);
        using var hf = CheckpointLoader.Load(folder);
        Assert.Equal(new RopeScaling(32, 1, 4, 8192), hf.Config.RopeScaling);

        string path = Path.Combine(folder, "l3.gguf");
        ModelConverter.ToGguf(hf, new Dictionary<string, object>(), GgmlType.F32, path);
        using var g = CheckpointLoader.Load(path);
        var expected = Llama3RopeFactors.Compute(hf.Config.RopeScaling!, 8, 500000);
        Assert.Equal(expected, g.RopeFreqFactors);
        Assert.Equal(expected, Llama3RopeFactors.Compute(g.Config.RopeScaling!, 8, 500000));
        Assert.Equal(500000f, g.Config.RopeTheta);
    }

    [Fact]
    public void Q8_0ConversionFallsBackToF16ForRowsOf172() => QuantizedConversion(GgmlType.Q8_0, 7, 0.01);

    [Fact]
    public void Q4_0ConversionFallsBackToF16ForRowsOf172() => QuantizedConversion(GgmlType.Q4_0, 2, 0.15);

    static void QuantizedConversion(GgmlType target, long fileType, double relRms)
    {
        using var src = CheckpointLoader.Load(Fixtures.Stories260KGguf);
        string path = Path.Combine(Fixtures.TempDir(), $"s-{target}.gguf");
        var notices = new List<string>();
        ModelConverter.ToGguf(src, TokenizerKeys(src.Gguf!), target, path, null, notices.Add);
        // ffn_down rows are 172 long, not a multiple of 32: those five tensors fall back to F16, with a notice each.
        Assert.Equal(5, notices.Count);
        Assert.All(notices, n => Assert.Contains("ffn_down", n));
        using var dst = CheckpointLoader.Load(path);
        Assert.Equal(fileType, dst.Gguf!.GetInt("general.file_type"));
        Assert.Equal(2L, dst.Gguf.GetInt("general.quantization_version"));
        Assert.Equal(GgmlType.F16, dst.Weights.Layers[0].Down.Type);
        Assert.Equal(target, dst.Weights.Layers[0].Wq.Type);
        Assert.Equal(target, dst.Weights.TokenEmbedding.Type);
        var a = src.Weights.Layers[1].Gate.ToFloat32();
        var b = dst.Weights.Layers[1].Gate.ToFloat32();
        double err = Math.Sqrt(a.Zip(b).Sum(p => (p.First - p.Second) * (double)(p.First - p.Second)) / a.Sum(x => (double)x * x));
        Assert.True(err < relRms, $"relative RMS error {err}");
    }

    [Fact]
    public void QuantizedSourceCopiesBlocksUnchanged()
    {
        // Same type in and out: the blocks are copied, not requantized, so no quant kernel is needed.
        using var src = CheckpointLoader.Load(Fixtures.TinyK("q8_0"));
        string path = Path.Combine(Fixtures.TempDir(), "q8.gguf");
        ModelConverter.ToGguf(src, TokenizerKeys(src.Gguf!), GgmlType.Q8_0, path);
        using var dst = CheckpointLoader.Load(path);
        CheckpointAssert.SameWeights(src.Weights, dst.Weights);
    }

    sealed class Inline(Action<double> a) : IProgress<double> { public void Report(double v) => a(v); }
}
