using Sieve.Formats.Gguf;
using Sieve.Tokenization;

namespace Sieve.Tests.Tokenization;

public class SentencePieceVectorTests
{
    internal static TextTokenizer Load(string vocabName)
    {
        using var g = GgufFile.Open(Fixtures.Vocab(vocabName));
        return TokenizerFactory.FromGguf(g);
    }

    [Theory]
    [InlineData("llama-spm")]
    [InlineData("phi-3")]
    public void EncodesEveryLlamaCppVector(string vocabName)
    {
        var tok = Load(vocabName);
        Assert.IsType<SentencePieceTextTokenizer>(tok);
        LlamaCppVectors.AssertAll(vocabName, text => tok.Encode(text, addBos: false, parseSpecial: false));
    }

    [Theory]
    [InlineData("llama-spm")]
    [InlineData("phi-3")]
    public void DecodesEveryLlamaCppVectorBackToItsText(string vocabName)
    {
        var tok = Load(vocabName);
        foreach (var (text, ids) in LlamaCppVectors.Load(vocabName))
        {
            // SentencePiece's dummy prefix is dropped again, so decoding gives back exactly the input.
            Assert.Equal(text, tok.Decode(ids));
        }
    }

    [Fact]
    public void ReadsSpecialIdsAndFlagsFromTheFile()
    {
        var tok = Load("llama-spm");
        Assert.Equal((32000, 1, 2, 0, true, false), (tok.VocabSize, tok.BosId, tok.EosId, tok.UnknownId, tok.AddBos, tok.AddEos));
        Assert.True(tok.StripLeadingSpace);
        Assert.Equal(new[] { 2 }, tok.EndOfGenerationIds.Order());
        Assert.Equal(new[] { 1, 15043, 3186 }, tok.Encode("Hello world"));
        Assert.Equal(new[] { 15043, 3186 }, tok.Encode("Hello world", addBos: false));
    }

    [Fact]
    public void TokenBytesFollowLlamaCpp()
    {
        var tok = Load("llama-spm");
        Assert.Equal(" Hello"u8.ToArray(), tok.TokenBytes(15043).ToArray());   // "▁Hello"
        Assert.Equal(new byte[] { 0x0A }, tok.TokenBytes(13).ToArray());        // "<0x0A>"
        Assert.Empty(tok.TokenBytes(1).ToArray());                              // <s> is control
        Assert.Empty(tok.TokenBytes(0).ToArray());                              // <unk>
        Assert.Equal("▁Hello", tok.TokenText(15043));
        Assert.Equal(TokenType.Byte, tok.TokenKind(13));
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.TokenBytes(32000));
    }

    [Fact]
    public void ControlTokensAreTextUnlessParseSpecial()
    {
        var tok = Load("llama-spm");
        Assert.DoesNotContain(2, tok.Encode("a</s>b", addBos: false));
        // llama.cpp: a special token splits the text, and text after it gets the dummy-prefix space again.
        Assert.Equal(tok.Encode("a", addBos: false).Concat([2]).Concat(tok.Encode("b", addBos: false)), tok.Encode("a</s>b", addBos: false, parseSpecial: true));
    }

    [Fact]
    public void Phi3SpecialTokensSwallowTheWhitespaceAfterThem()
    {
        var tok = Load("phi-3");
        Assert.Equal(new[] { 32000, 32007 }, tok.EndOfGenerationIds.Order());   // <|endoftext|> (EOS) and <|end|>
        int user = 32010, end = 32007, assistant = 32001;
        Assert.Equal("<|user|>", tok.TokenText(user));
        var ids = tok.Encode("<|user|>\nHello<|end|>\n<|assistant|>\n", addBos: false, parseSpecial: true);
        Assert.Equal(new[] { user, 15043, end, assistant }, ids);
        // "</s>" is user-defined in Phi-3's vocabulary, so it is split out even without parseSpecial.
        Assert.Equal(new[] { 263, 2 }, tok.Encode("a</s>", addBos: false));
    }

    [Fact]
    public void EncodingIsNotQuadraticOnALongRunWithoutSpaces()
    {
        var tok = Load("llama-spm");
        var ids = tok.Encode(new string('a', 200_000), addBos: false);
        Assert.Equal(new string('a', 200_000), tok.Decode(ids));
    }
}
