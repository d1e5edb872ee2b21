using Sieve.Formats.Gguf;
using Sieve.Tokenization;

namespace Sieve.Tests.Tokenization;

public class ByteLevelBpeVectorTests
{
    static readonly Lazy<TextTokenizer> FromGgufFile = new(() =>
    {
        using var g = GgufFile.Open(Fixtures.Vocab("gpt-2"));
        return TokenizerFactory.FromGguf(g);
    });
    static readonly Lazy<TextTokenizer> FromHfFolder = new(() => TokenizerFactory.FromHuggingFace(Fixtures.Gpt2Folder));

    public static TheoryData<string> Sources => new() { "gguf", "hf" };
    internal static TextTokenizer Get(string source) => source == "gguf" ? FromGgufFile.Value : FromHfFolder.Value;

    [Theory]
    [MemberData(nameof(Sources))]
    public void EncodesEveryLlamaCppVector(string source)
    {
        var tok = Get(source);
        Assert.IsType<ByteLevelBpeTextTokenizer>(tok);
        LlamaCppVectors.AssertAll("gpt-2", text => tok.Encode(text, addBos: false, parseSpecial: false));
    }

    [Theory]
    [MemberData(nameof(Sources))]
    public void DecodesEveryLlamaCppVectorBackToItsText(string source)
    {
        var tok = Get(source);
        Assert.False(tok.StripLeadingSpace);
        foreach (var (text, ids) in LlamaCppVectors.Load("gpt-2")) Assert.Equal(text, tok.Decode(ids));
    }

    [Theory]
    [MemberData(nameof(Sources))]
    public void SpecialIdsMatchTheCheckpoint(string source)
    {
        var tok = Get(source);
        Assert.Equal((50257, 50256, 50256, false, false), (tok.VocabSize, tok.BosId, tok.EosId, tok.AddBos, tok.AddEos));
        Assert.Equal(new[] { 50256 }, tok.EndOfGenerationIds);
        Assert.Equal(new[] { 15496, 995 }, tok.Encode("Hello world"));
        Assert.Equal(new[] { 50256, 15496, 995 }, tok.Encode("Hello world", addBos: true));
    }

    [Theory]
    [MemberData(nameof(Sources))]
    public void SpecialTokenTextIsSplitOutOnlyWhenAsked(string source)
    {
        var tok = Get(source);
        var plain = tok.Encode("Hi<|endoftext|>", addBos: false);
        Assert.DoesNotContain(50256, plain);
        Assert.Equal("Hi<|endoftext|>", tok.Decode(plain));
        Assert.Equal(new[] { 17250, 50256 }, tok.Encode("Hi<|endoftext|>", addBos: false, parseSpecial: true));
        Assert.Empty(tok.TokenBytes(50256).ToArray());   // control tokens print nothing
        Assert.Equal(" world"u8.ToArray(), tok.TokenBytes(995).ToArray());
        Assert.Equal("Ġworld", tok.TokenText(995));
    }

    [Fact]
    public void GgufAndHuggingFaceGiveTheSameVocabulary()
    {
        var a = FromGgufFile.Value.ToGgufMetadata();
        var b = FromHfFolder.Value.ToGgufMetadata();
        Assert.Equal((string[])a[GgufTokenizerKeys.Tokens], (string[])b[GgufTokenizerKeys.Tokens]);
        Assert.Equal((string[])a[GgufTokenizerKeys.Merges], (string[])b[GgufTokenizerKeys.Merges]);
        Assert.Equal((int[])a[GgufTokenizerKeys.TokenType], (int[])b[GgufTokenizerKeys.TokenType]);
        Assert.Equal("gpt-2", b[GgufTokenizerKeys.Pre]);
    }
}

public class ByteLevelBpeLongWordTests
{
    [Fact]
    public void OwnMergerAgreesWithBpeTokenizerOnEveryVector()
    {
        using var g = Sieve.Formats.Gguf.GgufFile.Open(Fixtures.Vocab("gpt-2"));
        var tok = (ByteLevelBpeTextTokenizer)TokenizerFactory.FromGguf(g);
        tok.LongWordChars = 0;   // every word through ByteLevelBpeMerger
        LlamaCppVectors.AssertAll("gpt-2", text => tok.Encode(text, addBos: false));
    }

    [Fact]
    public void LongWordsGiveTheSameTokensEitherWay()
    {
        var viaLibrary = (ByteLevelBpeTextTokenizer)ByteLevelBpeVectorTests.Get("hf");
        using var g = Sieve.Formats.Gguf.GgufFile.Open(Fixtures.Vocab("gpt-2"));
        var viaOwn = (ByteLevelBpeTextTokenizer)TokenizerFactory.FromGguf(g);
        viaOwn.LongWordChars = 0;
        var rng = new Random(7);
        foreach (int len in new[] { 300, 1000, 5000 })
        {
            var word = new string(Enumerable.Range(0, len).Select(_ => "abcdefghijklmnopqrstuvwxyzé"[rng.Next(27)]).ToArray());
            Assert.Equal(viaLibrary.Encode(word), viaOwn.Encode(word));
            Assert.Equal(word, viaOwn.Decode(viaOwn.Encode(word)));
        }
    }
}
