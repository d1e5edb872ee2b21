using Sieve.Tokenization;

namespace Sieve.Tests.Tokenization;

public class PreTokenizerTests
{
    const string Text = "Hello world! 12345 don't\n\n  x";

    static string[] Split(string pre, string text)
    {
        var p = new PreTokenizer(PreTokenizer.PatternsFor(pre)!);
        return p.Split(text, 0, text.Length).Select(r => text.Substring(r.Start, r.Length)).ToArray();
    }

    [Fact]
    public void Gpt2KeepsDigitRunsAndLeavesOneSpaceForTheNextWord()
    {
        Assert.Equal(["Hello", " world", "!", " 12345", " don", "'t", "\n\n ", " x"], Split("gpt-2", Text));
    }

    [Fact]
    public void Llama3SplitsDigitsInThreesAndNewlinesApart()
    {
        Assert.Equal(["Hello", " world", "!", " ", "123", "45", " don", "'t", "\n\n", " ", " x"], Split("llama-bpe", Text));
        Assert.Equal(["DON", "'T"], Split("llama-bpe", "DON'T"));
    }

    [Fact]
    public void Qwen2SplitsEveryDigit()
    {
        Assert.Equal(["Hello", " world", "!", " ", "1", "2", "3", "4", "5", " don", "'t", "\n\n", " ", " x"], Split("qwen2", Text));
    }

    [Fact]
    public void ChainedRegexesKeepTheTextBetweenMatches()
    {
        // llama.cpp's "default" chain first isolates punctuation runs, then splits what is left.
        Assert.Equal(["a", ",,", " b"], Split("default", "a,, b"));
        Assert.Equal(Text, string.Concat(Split("default", Text)));
    }

    [Fact]
    public void KnowsLlamaCppNamesAndRecognisesTokenizerJsonPatterns()
    {
        Assert.Null(PreTokenizer.PatternsFor("no-such-pre"));
        Assert.Equal("llama-bpe", PreTokenizer.NameFor([PreTokenizer.Llama3Original]));
        Assert.Equal("qwen2", PreTokenizer.NameFor([PreTokenizer.Qwen2Original]));
        Assert.Equal("gpt-2", PreTokenizer.NameFor(PreTokenizer.PatternsFor("gpt-2")!));
        Assert.Equal("default", PreTokenizer.NameFor([@"\w+"]));
        Assert.True(PreTokenizer.IgnoresMerges("llama-bpe"));
        Assert.False(PreTokenizer.IgnoresMerges("qwen2"));
    }

    [Fact]
    public void CodePointsOutsideTheBmpSplitByTheirCategory()
    {
        // 𝔘 (U+1D518) is a letter and 𝟕 (U+1D7D5) a digit, as Hugging Face's and llama.cpp's code-point regexes
        // see them; as UTF-16 surrogates they would fall into [^\s\p{L}\p{N}]+ and take the apostrophe along.
        Assert.Equal(["𝔘", "'re", " 𝔘𝔫", "/lc", " ", "𝟕", "😀!"], Split("qwen2", "𝔘're 𝔘𝔫/lc 𝟕😀!"));
        // A lone surrogate is kept as it is, and the pieces still cover the text.
        Assert.Equal("a\uD835b c\uDD18", string.Concat(Split("qwen2", "a\uD835b c\uDD18")));
    }

    [Fact]
    public void EveryStandInHasItsCategory()
    {
        foreach (var (category, standIn) in AstralFolding.StandInTable)
        {
            Assert.Equal(category, System.Globalization.CharUnicodeInfo.GetUnicodeCategory(standIn));
            Assert.False(char.IsWhiteSpace(standIn));
            Assert.True(standIn > 0x7F, "a stand-in must not be ASCII, which patterns name literally");
        }
    }
}
