using Sieve.Formats.Gguf;
using Sieve.Tokenization;

namespace Sieve.Tests.Tokenization;

/// <summary>
/// ToGgufMetadata writes what llama.cpp's converter would; FromGgufMetadata (which FromGguf calls) must build
/// an equal tokenizer from it, both straight from the dictionary and through a GGUF file written with it.
/// </summary>
public class GgufMetadataRoundTripTests
{
    static readonly string[] Samples = ["Hello world", " leading space", "ied 4 ½ months", "🦙.cpp\n\n\tx", "Cửa Việt", "<|endoftext|><s></s>"];

    public static TheoryData<string> Vocabularies => new() { "llama-spm", "phi-3", "gpt-2", "tok512", "gpt2-hf" };

    static TextTokenizer Load(string name)
    {
        if (name == "tok512") return TokenizerFactory.FromLlama2c(Fixtures.Tok512, 512);
        if (name == "gpt2-hf") return TokenizerFactory.FromHuggingFace(Fixtures.Gpt2Folder);
        using var g = GgufFile.Open(Fixtures.Vocab(name));
        return TokenizerFactory.FromGguf(g);
    }

    [Theory]
    [MemberData(nameof(Vocabularies))]
    public void MetadataHasLlamaCppKeysWithGgufValueTypes(string name)
    {
        var tok = Load(name);
        var meta = tok.ToGgufMetadata();
        int n = tok.VocabSize;
        bool spm = tok is SentencePieceTextTokenizer;
        Assert.Equal(spm ? "llama" : "gpt2", Assert.IsType<string>(meta[GgufTokenizerKeys.Model]));
        Assert.IsType<string>(meta[GgufTokenizerKeys.Pre]);
        Assert.Equal(n, Assert.IsType<string[]>(meta[GgufTokenizerKeys.Tokens]).Length);
        Assert.Equal(n, Assert.IsType<int[]>(meta[GgufTokenizerKeys.TokenType]).Length);
        if (spm) Assert.Equal(n, Assert.IsType<float[]>(meta[GgufTokenizerKeys.Scores]).Length);
        else Assert.Equal(50000, Assert.IsType<string[]>(meta[GgufTokenizerKeys.Merges]).Length);
        Assert.Equal((uint)tok.BosId, Assert.IsType<uint>(meta[GgufTokenizerKeys.BosId]));
        Assert.Equal((uint)tok.EosId, Assert.IsType<uint>(meta[GgufTokenizerKeys.EosId]));
        Assert.Equal(tok.AddBos, Assert.IsType<bool>(meta[GgufTokenizerKeys.AddBos]));
        Assert.Equal(tok.AddEos, Assert.IsType<bool>(meta[GgufTokenizerKeys.AddEos]));
        if (tok.UnknownId >= 0) Assert.Equal((uint)tok.UnknownId, Assert.IsType<uint>(meta[GgufTokenizerKeys.UnknownId]));
        if (tok.ChatTemplate != null) Assert.Equal(tok.ChatTemplate, Assert.IsType<string>(meta[GgufTokenizerKeys.ChatTemplate]));
        Assert.All(meta.Keys, k => Assert.StartsWith("tokenizer.", k));
    }

    [Theory]
    [MemberData(nameof(Vocabularies))]
    public void RebuildingFromTheMetadataGivesTheSameTokenizer(string name)
    {
        var tok = Load(name);
        var again = TokenizerFactory.FromGgufMetadata(tok.ToGgufMetadata(), "round-trip");
        Assert.Equal(tok.GetType(), again.GetType());
        Assert.Equal((tok.VocabSize, tok.BosId, tok.EosId, tok.UnknownId, tok.PaddingId, tok.AddBos, tok.AddEos, tok.ChatTemplate),
            (again.VocabSize, again.BosId, again.EosId, again.UnknownId, again.PaddingId, again.AddBos, again.AddEos, again.ChatTemplate));
        // llama2.c stops at BOS; GGUF has no key for that, so llama.cpp (and the rebuilt tokenizer) stop at EOS only.
        var expectedEog = tok.EndOfGenerationIds.Where(id => !(name == "tok512" && id == tok.BosId)).Order();
        Assert.Equal(expectedEog, again.EndOfGenerationIds.Order());
        foreach (var text in Samples)
        {
            Assert.Equal(tok.Encode(text), again.Encode(text));
            Assert.Equal(tok.Encode(text, parseSpecial: true), again.Encode(text, parseSpecial: true));
        }
        Assert.Equal(tok.ToGgufMetadata().Keys.Order(), again.ToGgufMetadata().Keys.Order());
    }

    [Theory]
    [MemberData(nameof(Vocabularies))]
    public void AGgufFileWrittenFromTheMetadataLoadsTheSameTokenizer(string name)
    {
        var tok = Load(name);
        var writer = new GgufWriter();
        foreach (var (key, value) in tok.ToGgufMetadata()) writer.Add(key, value);
        string path = Path.Combine(Fixtures.TempDir(), name + ".gguf");
        writer.Write(path);
        using var g = GgufFile.Open(path);
        var again = TokenizerFactory.FromGguf(g);
        Assert.Equal((tok.VocabSize, tok.BosId, tok.EosId, tok.AddBos, tok.ChatTemplate), (again.VocabSize, again.BosId, again.EosId, again.AddBos, again.ChatTemplate));
        foreach (var text in Samples) Assert.Equal(tok.Encode(text, parseSpecial: true), again.Encode(text, parseSpecial: true));
    }

    [Fact]
    public void GgufFileMetadataSurvivesTheRoundTripUnchanged()
    {
        using var g = GgufFile.Open(Fixtures.Vocab("phi-3"));
        var meta = TokenizerFactory.FromGguf(g).ToGgufMetadata();
        foreach (var key in new[] { GgufTokenizerKeys.Tokens, GgufTokenizerKeys.Scores, GgufTokenizerKeys.TokenType, GgufTokenizerKeys.ChatTemplate,
                     GgufTokenizerKeys.BosId, GgufTokenizerKeys.EosId, GgufTokenizerKeys.UnknownId, GgufTokenizerKeys.PaddingId,
                     GgufTokenizerKeys.AddBos, GgufTokenizerKeys.AddEos, GgufTokenizerKeys.Model, GgufTokenizerKeys.Pre })
            Assert.Equal(g.Metadata[key], meta[key]);
    }

    [Fact]
    public void FromGgufMetadataAcceptsOtherIntegerWidthsAndTreatsMaxUintAsNone()
    {
        using var g = GgufFile.Open(Fixtures.Stories260KGguf);
        Assert.Equal(4294967295u, g.Metadata[GgufTokenizerKeys.PaddingId]);
        var tok = TokenizerFactory.FromGguf(g);
        Assert.Equal(-1, tok.PaddingId);
        var meta = new Dictionary<string, object>(tok.ToGgufMetadata()) { [GgufTokenizerKeys.BosId] = 1L, [GgufTokenizerKeys.EosId] = (ushort)2 };
        var again = TokenizerFactory.FromGgufMetadata(meta, "mem");
        Assert.Equal((1, 2), (again.BosId, again.EosId));
    }
}
