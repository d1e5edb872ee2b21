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
}
