using System.Numerics.Tensors;
using System.Text.Json;
using Sieve.Formats;
using Sieve.Formats.Conversion;
using Sieve.Generation;
using Sieve.Models;
using Sieve.Tokenization;

namespace Sieve.Tests.Generation;

/// <summary>
/// A tokenizer smaller than the embedding (a padded vocabulary, common in real checkpoints) never has an id past
/// its end sampled, whatever the sampler; a tokenizer larger than the embedding is refused at load.
/// </summary>
public class PaddedVocabularyTests
{
    const int EmbeddingRows = 512;   // stories260K

    /// <summary>
    /// stories260K as a Hugging Face folder (512 embedding rows) with a byte-level tokenizer.json of
    /// <paramref name="tokens"/> tokens: the 256 byte tokens, then fillers.
    /// </summary>
    static string Folder(int tokens)
    {
        string dir = Fixtures.TempDir();
        using (var src = CheckpointLoader.Load(Fixtures.Stories260KGguf)) ModelConverter.ToHuggingFace(src, dir);
        var vocab = new Dictionary<string, int>();
        for (int b = 0; b < 256; b++) vocab[ByteLevelAlphabet.Encode((byte)b).ToString()] = b;
        for (int id = 256; id < tokens; id++) vocab[$"filler{id}"] = id;
        var json = new
        {
            pre_tokenizer = new { type = "ByteLevel", add_prefix_space = false, use_regex = true },
            decoder = new { type = "ByteLevel" },
            model = new { type = "BPE", vocab, merges = Array.Empty<string>() },
        };
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), JsonSerializer.Serialize(json));
        return dir;
    }

    static readonly Lazy<string> Padded = new(() => Folder(300));

    public static TheoryData<string, SamplingOptions> Samplers => new()
    {
        { "greedy", SamplingOptions.Greedy },
        { "llama2c greedy", SamplingOptions.Greedy with { Llama2cCompatible = true } },
        { "chain, defaults", new SamplingOptions { Seed = 1 } },
        { "chain, everything kept, hot", new SamplingOptions { Temperature = 2f, TopK = 0, TopP = 1f, MinP = 0f, Seed = 2 } },
        { "chain, repeat penalty", new SamplingOptions { Temperature = 1f, TopK = 0, TopP = 1f, MinP = 0f, RepeatPenalty = 1.5f, Seed = 3 } },
        { "llama2c multinomial", new SamplingOptions { Llama2cCompatible = true, Temperature = 2f, TopP = 1f, Seed = 4 } },
        { "llama2c nucleus", new SamplingOptions { Llama2cCompatible = true, Temperature = 1.5f, TopP = 0.99f, Seed = 5 } },
    };

    [Theory]
    [MemberData(nameof(Samplers))]
    public void IdsPastTheTokenizerAreNeverSampled(string name, SamplingOptions sampling)
    {
        using var m = SieveModel.Load(Padded.Value);
        Assert.Equal(300, m.Tokenizer.VocabSize);
        Assert.Equal(EmbeddingRows, m.Config.VocabSize);
        var g = m.CreateGenerator();
        const int Length = 64;
        var tokens = g.Generate("Once upon a time", new GenerationOptions { MaxTokens = Length, Sampling = sampling, StopAtEndOfGeneration = false })
            .Where(t => t.Id >= 0).Select(t => t.Id).ToList();
        Assert.True(tokens.Count == Length, $"{name}: {tokens.Count} tokens, not {Length}");
        Assert.All(tokens, id => Assert.InRange(id, 0, 299));
        Assert.Equal("length", g.LastStats!.StopReason);
    }

    [Fact]
    public void WithoutTheMaskGreedyWouldPickAnIdPastTheTokenizer()
    {
        // The test above is only meaningful if the model does favour padded rows: the unmasked argmax reaches them.
        using var m = SieveModel.Load(Padded.Value);
        var prompt = m.Tokenizer.Encode("Once upon a time");
        var cache = m.Runner().CreateDenseCache(prompt.Length + 64);
        var logits = m.Runner().Prefill(prompt, 0, cache).ToArray();
        int pastEnd = 0;
        for (int pos = prompt.Length; pos < prompt.Length + 64; pos++)
        {
            int raw = TensorPrimitives.IndexOfMax(logits);
            if (raw >= m.Tokenizer.VocabSize) pastEnd++;
            int next = TensorPrimitives.IndexOfMax(logits.AsSpan(0, m.Tokenizer.VocabSize));
            logits = m.Runner().Decode(next, pos, cache).ToArray();
        }
        Assert.True(pastEnd > 0, "the unmasked argmax never left the tokenizer's 300 ids");
    }

    [Fact]
    public void ATokenizerLargerThanTheEmbeddingIsRefusedAtLoad()
    {
        string dir = Folder(600);
        var e = Assert.Throws<ModelFileException>(() => SieveModel.Load(dir));
        Assert.Equal(Path.Combine(dir, "tokenizer.json"), e.FilePath);
        Assert.Contains("600 tokens", e.Problem);
        Assert.Contains($"{EmbeddingRows} rows", e.Problem);
    }
}
