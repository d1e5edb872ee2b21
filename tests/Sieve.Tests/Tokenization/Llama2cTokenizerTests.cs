using System.Text.Json;
using Sieve.Formats.Gguf;
using Sieve.Tokenization;

namespace Sieve.Tests.Tokenization;

public class Llama2cTokenizerTests
{
    static TextTokenizer Tok512() => TokenizerFactory.FromLlama2c(Fixtures.Tok512, 512);

    static IEnumerable<JsonElement> OracleCases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.Oracles));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Clone()).ToList();
    }

    [Fact]
    public void EncodesEveryOraclePromptAsLlama2cDoes()
    {
        var tok = Tok512();
        var cases = OracleCases().ToList();
        Assert.Equal(4, cases.Count);
        foreach (var c in cases)
        {
            var want = c.GetProperty("prompt_token_ids_incl_bos").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            Assert.Equal(want, tok.Encode(c.GetProperty("prompt").GetString()!));
        }
        Assert.Equal(new[] { 1, 291, 276, 286, 261, 370 }, tok.Encode("There was a big"));
    }

    [Fact]
    public void DecodesEveryOracleGenerationToItsPublishedText()
    {
        var tok = Tok512();
        foreach (var c in OracleCases())
        {
            // llama2.c prints the prompt pieces too: the text is every token after BOS, prompt included.
            var after = c.GetProperty("token_ids_after_bos").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            var prompt = c.GetProperty("prompt_token_ids_incl_bos").EnumerateArray().Select(x => x.GetInt32()).Skip(1);
            Assert.Equal(prompt, after.Take(prompt.Count()));
            Assert.Equal(c.GetProperty("expected_text").GetString(), tok.Decode(after));
        }
    }

    [Fact]
    public void MatchesTheGgufCopyOfTheSameVocabulary()
    {
        var fromBin = Tok512();
        using var g = GgufFile.Open(Fixtures.Stories260KGguf);
        var fromGguf = TokenizerFactory.FromGguf(g);
        var a = fromBin.ToGgufMetadata();
        var b = fromGguf.ToGgufMetadata();
        Assert.Equal((string[])b[GgufTokenizerKeys.Tokens], (string[])a[GgufTokenizerKeys.Tokens]);
        Assert.Equal((float[])b[GgufTokenizerKeys.Scores], (float[])a[GgufTokenizerKeys.Scores]);
        Assert.Equal((int[])b[GgufTokenizerKeys.TokenType], (int[])a[GgufTokenizerKeys.TokenType]);
        foreach (var text in new[] { "Once upon a time", "There was a big", "  two  spaces\nand 😀 émoji" })
            Assert.Equal(fromGguf.Encode(text), fromBin.Encode(text));
    }

    [Fact]
    public void SpecialIdsAreLlama2cs()
    {
        var tok = Tok512();
        Assert.Equal((512, 1, 2, 0, true), (tok.VocabSize, tok.BosId, tok.EosId, tok.UnknownId, tok.AddBos));
        // llama2.c stops generating at BOS, which separates stories; EOS ends generation as in llama.cpp.
        Assert.Equal(new[] { 1, 2 }, tok.EndOfGenerationIds.Order());
        Assert.Equal("<s>", tok.TokenText(1));
        Assert.Equal(new[] { 1 }, tok.Encode(""));
    }
}
