using Sieve.Formats.Gguf;
using Sieve.Tensors;

namespace Sieve.Tests.Formats;

public class GgufFileTests
{
    [Fact]
    public void ReadsStories260KDirectoryAsItsProvenanceDescribes()
    {
        using var g = GgufFile.Open(Fixtures.Stories260KGguf);
        Assert.Equal(3u, g.Version);
        Assert.Equal(48, g.Tensors.Count);
        Assert.Equal(19, g.Metadata.Count);
        Assert.Equal(14176, g.DataOffset);
        Assert.Equal("llama", g.GetString("general.architecture"));
        Assert.Equal(64, g.GetInt("llama.embedding_length"));
        Assert.Equal(172, g.GetInt("llama.feed_forward_length"));
        Assert.Equal(512, g.GetArray<string>("tokenizer.ggml.tokens")!.Length);
        var emb = g.Tensor("token_embd.weight");
        Assert.Equal((512, 64, GgmlType.F32), (emb.Rows, emb.Cols, emb.Type));
    }

    [Fact]
    public void ReadsF16TensorsOfTinyRandomLlama()
    {
        using var g = GgufFile.Open(Fixtures.TinyRandomGguf);
        var emb = g.Tensor("token_embd.weight");
        Assert.Equal((32000, 8, GgmlType.F16), (emb.Rows, emb.Cols, emb.Type));
        var values = emb.ToFloat32();
        Assert.All(values, v => Assert.True(float.IsFinite(v)));
        Assert.Contains(values, v => v != 0);
    }
}
