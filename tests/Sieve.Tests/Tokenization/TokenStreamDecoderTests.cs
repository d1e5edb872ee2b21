using Sieve.Tokenization;

namespace Sieve.Tests.Tokenization;

public class TokenStreamDecoderTests
{
    [Fact]
    public void HoldsBackBytesUntilACharacterIsComplete()
    {
        var tok = SentencePieceVectorTests.Load("llama-spm");
        // " this is 🦙.cpp": the llama is four byte tokens, 243 162 169 156.
        int[] ids = [29871, 445, 338, 29871, 243, 162, 169, 156, 29889, 8223];
        var stream = new TokenStreamDecoder(tok);
        var pieces = ids.Select(stream.Append).ToList();
        Assert.Equal(["", " this", " is", " ", "", "", "", "🦙", ".", "cpp"], pieces);
        Assert.Equal("", stream.Flush());
        Assert.Equal(tok.Decode(ids), string.Concat(pieces));
    }

    [Fact]
    public void StripsTheDummySpaceFromTheFirstPieceOnly()
    {
        var tok = SentencePieceVectorTests.Load("llama-spm");
        var stream = new TokenStreamDecoder(tok);
        Assert.Equal("", stream.Append(1));            // BOS prints nothing and does not use up the strip
        Assert.Equal("Hello", stream.Append(15043));   // "▁Hello"
        Assert.Equal(" world", stream.Append(3186));   // "▁world"
        stream.Reset();
        Assert.Equal("world", stream.Append(3186));
    }

    [Theory]
    [InlineData("llama-spm")]
    [InlineData("gpt-2")]
    public void StreamingEveryVectorGivesTheSameTextAsDecode(string vocab)
    {
        var tok = vocab == "gpt-2" ? ByteLevelBpeVectorTests.Get("gguf") : SentencePieceVectorTests.Load(vocab);
        foreach (var (text, ids) in LlamaCppVectors.Load(vocab))
        {
            var stream = new TokenStreamDecoder(tok);
            var pieces = ids.Select(stream.Append).Append(stream.Flush()).ToList();
            Assert.Equal(text, string.Concat(pieces));
            // Nothing is emitted half-way through a character.
            Assert.All(pieces, p => Assert.False(p.Length > 0 && char.IsHighSurrogate(p[^1])));
        }
    }

    [Fact]
    public void AnIncompleteCharacterAtTheEndFlushesAsReplacement()
    {
        var tok = SentencePieceVectorTests.Load("llama-spm");
        var stream = new TokenStreamDecoder(tok);
        Assert.Equal("", stream.Append(243));   // <0xF0>: first byte of a four-byte character
        Assert.Equal("", stream.Append(162));
        Assert.Equal("\uFFFD", stream.Flush());
    }
}
