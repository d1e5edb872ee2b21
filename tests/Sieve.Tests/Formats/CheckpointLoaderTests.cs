using Sieve.Formats;
using Sieve.Formats.Gguf;
using Sieve.Formats.Llama2c;
using Sieve.Models;
using Sieve.Tensors;

namespace Sieve.Tests.Formats;

public class CheckpointLoaderTests
{
    static void AssertStories260K(ModelConfig c)
    {
        // PROVENANCE-llama2c.md / PROVENANCE-gguf.md
        Assert.Equal("llama", c.Architecture);
        Assert.Equal((64, 5, 8, 4, 8, 172, 512), (c.Dim, c.LayerCount, c.HeadCount, c.KvHeadCount, c.HeadDim, c.FfnDim, c.VocabSize));
        Assert.Equal(8, c.RopeDim);
        Assert.Equal(1e-5f, c.NormEps);
        Assert.Equal(10000f, c.RopeTheta);
        Assert.Equal(RopeStyle.Interleaved, c.RopeStyle);
        Assert.Null(c.RopeScaling);
        Assert.False(c.QkvBias);
        Assert.False(c.QkNorm);
    }

    [Fact]
    public void GgufStories260K()
    {
        using var ck = CheckpointLoader.Load(Fixtures.Stories260KGguf);
        Assert.Equal("gguf", ck.Format);
        AssertStories260K(ck.Config);
        Assert.Equal(2048, ck.Config.ContextLength);
        Assert.False(ck.Config.TiedEmbeddings);   // the GGUF stores output.weight as a copy
        Assert.Equal(1185376, ck.FileBytes);
        Assert.Equal(Fixtures.Stories260KGguf, ck.TokenizerPath);
        Assert.NotNull(ck.Gguf);
        var l0 = ck.Weights.Layers[0];
        Assert.Equal((64, 64), (l0.Wq.Rows, l0.Wq.Cols));
        Assert.Equal((32, 64), (l0.Wk.Rows, l0.Wk.Cols));
        Assert.Equal((172, 64), (l0.Gate.Rows, l0.Gate.Cols));
        Assert.Equal((64, 172), (l0.Down.Rows, l0.Down.Cols));
        Assert.All(ck.Weights.OutputNorm, v => Assert.True(float.IsFinite(v) && v != 0));
    }

    [Fact]
    public void LegacyBinMatchesGgufByteForByte()
    {
        using var gguf = CheckpointLoader.Load(Fixtures.Stories260KGguf);
        using var bin = CheckpointLoader.Load(Fixtures.Stories260KBin);
        Assert.Equal("llama2c", bin.Format);
        AssertStories260K(bin.Config);
        Assert.Equal(512, bin.Config.ContextLength);
        Assert.True(bin.Config.TiedEmbeddings);
        Assert.Equal(Fixtures.Tok512, bin.TokenizerPath);
        Assert.Same(bin.Weights.TokenEmbedding, bin.Weights.Output);
        CheckpointAssert.SameWeights(gguf.Weights, bin.Weights);
    }

    [Fact]
    public void Version1BinMatchesGgufByteForByte()
    {
        using var gguf = CheckpointLoader.Load(Fixtures.Stories260KGguf);
        using var v1 = Llama2cCheckpoint.Load(Fixtures.Stories260KV1Bin);
        AssertStories260K(v1.Config);
        Assert.Equal(512, v1.Config.ContextLength);
        Assert.True(v1.Config.TiedEmbeddings);
        Assert.Equal("1", v1.Notes!["llama2c_version"]);
        CheckpointAssert.SameWeights(gguf.Weights, v1.Weights);
    }

    [Fact]
    public void TinyRandomLlamaF16()
    {
        using var g = GgufFile.Open(Fixtures.TinyRandomGguf);
        using var ck = GgufCheckpoint.Load(g);
        var c = ck.Config;
        Assert.Equal((8, 1, 2, 2, 4, 32, 32000, 4096), (c.Dim, c.LayerCount, c.HeadCount, c.KvHeadCount, c.HeadDim, c.FfnDim, c.VocabSize, c.ContextLength));
        Assert.Equal(4, c.RopeDim);
        Assert.False(c.TiedEmbeddings);
        Assert.Equal(GgmlType.F16, ck.Weights.Layers[0].Wq.Type);
        Assert.Equal(GgmlType.F16, ck.Weights.Output.Type);
        Assert.Equal(8, ck.Weights.Layers[0].AttnNorm.Length);
    }

    [Theory]
    [InlineData("f32", GgmlType.F32)]
    [InlineData("q8_0", GgmlType.Q8_0)]
    [InlineData("q4_0", GgmlType.Q4_0)]
    [InlineData("q4_k", GgmlType.Q4_K)]
    [InlineData("q6_k", GgmlType.Q6_K)]
    public void TinyKQuants(string suffix, GgmlType type)
    {
        using var ck = CheckpointLoader.Load(Fixtures.TinyK(suffix));
        var c = ck.Config;
        Assert.Equal((256, 2, 4, 2, 64, 512, 512, 4096), (c.Dim, c.LayerCount, c.HeadCount, c.KvHeadCount, c.HeadDim, c.FfnDim, c.VocabSize, c.ContextLength));
        Assert.Equal(type, ck.Weights.Layers[1].Down.Type);
        Assert.Equal(type, ck.Weights.Layers[0].Wq.Type);
        Assert.All(ck.Weights.Layers[0].AttnNorm, v => Assert.Equal(1f, v));
    }

    [Fact]
    public void Gpt2FolderIsRefusedByArchitecture()
    {
        var e = Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(Fixtures.Gpt2Folder));
        Assert.Contains("unsupported architecture 'gpt2'", e.Message);
        Assert.Contains("config.json", e.FilePath);
    }

    [Fact]
    public void VocabOnlyGgufsAreRefusedClearly()
    {
        // Architecture gpt2 / phi3 with no tensors.
        Assert.Contains("unsupported architecture 'gpt2'", Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(Fixtures.Vocab("gpt-2"))).Message);
        Assert.Contains("unsupported architecture 'phi3'", Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(Fixtures.Vocab("phi-3"))).Message);
        // llama, but no weights at all.
        Assert.Contains("tensor 'token_embd.weight' is missing", Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(Fixtures.Vocab("llama-spm"))).Message);
    }

    [Fact]
    public void MissingPathsSayFileNotFound()
    {
        string dir = Fixtures.TempDir();
        foreach (var p in new[] { Path.Combine(dir, "nope.gguf"), Path.Combine(dir, "nope.bin"), Path.Combine(dir, "nope", "") })
        {
            var e = Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(p));
            Assert.Contains("file not found", e.Message);
        }
        var empty = Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(dir));
        Assert.Contains("config.json", empty.Message);
    }

    [Fact]
    public void FormatIsDetectedByMagicNotOnlyByName()
    {
        string dir = Fixtures.TempDir();
        string renamed = Path.Combine(dir, "model.bin");
        File.Copy(Fixtures.Stories260KGguf, renamed);
        Assert.Equal("gguf", CheckpointLoader.FormatOf(renamed));
        using var ck = CheckpointLoader.Load(renamed);
        Assert.Equal("gguf", ck.Format);
        Assert.Equal("llama2c", CheckpointLoader.FormatOf(Fixtures.Stories260KV1Bin));
    }

    [Fact]
    public void LegacyBinWithNegativeVocabHasItsOwnClassifier()
    {
        // Build a legacy file with an unshared classifier: negative vocab in the header and wcls appended.
        string dir = Fixtures.TempDir();
        string path = Path.Combine(dir, "unshared.bin");
        var bytes = File.ReadAllBytes(Fixtures.Stories260KBin).ToList();
        var header = BitConverter.GetBytes(-512);
        for (int i = 0; i < 4; i++) bytes[20 + i] = header[i];
        var cls = new float[512 * 64];
        for (int i = 0; i < cls.Length; i++) cls[i] = i * 0.001f;
        bytes.AddRange(System.Runtime.InteropServices.MemoryMarshal.AsBytes(cls.AsSpan()).ToArray());
        File.WriteAllBytes(path, bytes.ToArray());
        using var ck = Llama2cCheckpoint.Load(path);
        Assert.False(ck.Config.TiedEmbeddings);
        Assert.NotSame(ck.Weights.TokenEmbedding, ck.Weights.Output);
        Assert.Equal(cls, ck.Weights.Output.ToFloat32());
    }

    [Fact]
    public void Llama3RopeFactorsRoundTrip()
    {
        var s = new RopeScaling(8, 1, 4, 8192);
        var f = Llama3RopeFactors.Compute(s, 128, 500000);
        Assert.Equal(1f, f[0]);
        Assert.Equal(8f, f[^1]);
        var fitted = Llama3RopeFactors.Fit(f, 128, 500000, 8192, "x")!;
        Assert.Equal(8, fitted.Factor, 6);
        Assert.Equal(1, fitted.LowFreqFactor, 3);
        Assert.Equal(4, fitted.HighFreqFactor, 3);
        // Few blended frequencies (tiny head): any fit must still reproduce the divisors.
        var small = Llama3RopeFactors.Compute(new RopeScaling(32, 1, 4, 8192), 8, 500000);
        var again = Llama3RopeFactors.Compute(Llama3RopeFactors.Fit(small, 8, 500000, 8192, "x")!, 8, 500000);
        Assert.Equal(small, again);
        Assert.Null(Llama3RopeFactors.Fit([1, 1, 1, 1], 8, 10000, 8192, "x"));
        Assert.Throws<ModelFileException>(() => Llama3RopeFactors.Fit([1, 5, 1, 5], 8, 10000, 8192, "x"));
    }
}
