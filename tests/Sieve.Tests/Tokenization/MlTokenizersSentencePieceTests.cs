using Microsoft.ML.Tokenizers;
using Sieve.Tokenization;

namespace Sieve.Tests.Tokenization;

/// <summary>
/// Why <see cref="SentencePieceTextTokenizer"/> merges with its own code: Microsoft.ML.Tokenizers'
/// SentencePieceTokenizer, given the same Llama 2 vocabulary as an in-memory ModelProto, agrees on most text
/// but not on every llama.cpp vector. If this test starts failing after a package update, the library may
/// have caught up and SentencePieceMerger could delegate to it.
/// </summary>
public class MlTokenizersSentencePieceTests
{
    [Fact]
    public void TheLibraryDiffersFromLlamaCppOnRunsOfRepeatedCharacters()
    {
        var ours = (SentencePieceTextTokenizer)SentencePieceVectorTests.Load("llama-spm");
        var v = ours.Vocabulary;
        var proto = SentencePieceModelProto.Build(v.Tokens, v.Scores, v.Types, ours.UnknownId, ours.BosId, ours.EosId, -1,
            addDummyPrefix: true, byteFallback: true);
        var ml = SentencePieceTokenizer.Create(new MemoryStream(proto), false, false);

        // The mapping itself is right: ordinary text, whitespace runs and byte fallback agree.
        foreach (var text in new[] { "Hello world", "  Hello", "\t\n", " this is 🦙.cpp", "нещо на Български" })
            Assert.Equal(ours.Encode(text, addBos: false), ml.EncodeToIds(text, false, false));

        // llama.cpp's vector for "!!!!!!" is ▁! !! !!! (1738 6824 21004); the library gives ▁! !!! !!.
        Assert.Equal(new[] { 1738, 6824, 21004 }, ours.Encode("!!!!!!", addBos: false));
        Assert.Equal(new[] { 1738, 21004, 6824 }, ml.EncodeToIds("!!!!!!", false, false));
    }
}
