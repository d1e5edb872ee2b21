using System.Text.Json;
using Sieve.Generation;
using Sieve.Models;
using Sieve.Threading;

namespace Sieve.Tests.Models;

/// <summary>stories260K against llama2.c's and llama.cpp's published outputs (models/stories260K/oracles.json).</summary>
public class Stories260KOracleTests
{
    public static IEnumerable<object[]> Files() =>
    [
        [Fixtures.Stories260KBin], [Fixtures.Stories260KV1Bin], [Fixtures.Stories260KGguf],
    ];

    static JsonElement Case(string id)
    {
        var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.Oracles));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("id").GetString() == id);
    }

    /// <summary>llama2.c's loop: `steps` forward passes from BOS, prompt included, text of every token after BOS.</summary>
    static (string Text, List<int> Ids) RunLikeLlama2c(string path, string prompt, int steps, SamplingOptions sampling, int threads = 2)
    {
        using var pool = new WorkerPool(threads);
        using var model = SieveModel.Load(path, new SieveModelOptions { TokenizerPath = Fixtures.Tok512 }, pool);
        var generator = model.CreateGenerator();
        var promptIds = model.Tokenizer.Encode(prompt, addBos: true);
        var options = new GenerationOptions
        {
            MaxTokens = steps - (promptIds.Length - 1),
            Sampling = sampling,
            StopAtEndOfGeneration = false,
        };
        var ids = promptIds.Skip(1).ToList();
        var text = prompt;
        foreach (var t in generator.Generate(promptIds, options))
        {
            if (t.Id >= 0) ids.Add(t.Id);
            text += t.Text;
        }
        return (text, ids);
    }

    [Theory, MemberData(nameof(Files))]
    public void GreedyTwoHundredStepsMatchLlama2cByteForByte(string path)
    {
        var c = Case("greedy-empty-prompt");
        var (text, ids) = RunLikeLlama2c(path, "", 200, SamplingOptions.Greedy);
        Assert.Equal(c.GetProperty("token_ids_after_bos").EnumerateArray().Select(e => e.GetInt32()), ids);
        Assert.Equal(c.GetProperty("expected_text").GetString(), text);
    }

    [Theory]
    [InlineData("temp1-topp1-seed42")]
    [InlineData("temp1-topp0.95-seed42")]
    [InlineData("prompt-there-was-a-big-topp0.95-seed42")]
    public void SampledOraclesMatchWithTheLlama2cSampler(string id)
    {
        var c = Case(id);
        var sampling = new SamplingOptions
        {
            Llama2cCompatible = true,
            Temperature = (float)c.GetProperty("temperature").GetDouble(),
            TopP = (float)c.GetProperty("topp").GetDouble(),
            Seed = (ulong)c.GetProperty("seed").GetInt64(),
        };
        var (text, _) = RunLikeLlama2c(Fixtures.Stories260KBin, c.GetProperty("prompt").GetString()!, c.GetProperty("steps").GetInt32(), sampling);
        Assert.Equal(c.GetProperty("expected_text").GetString(), text);
    }

    [Fact]
    public void LlamaCppGreedyPrefixForOnceUponATime()
    {
        var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.Oracles));
        var check = doc.RootElement.GetProperty("llama_cpp_cross_check");
        using var model = SieveModel.Load(Fixtures.Stories260KGguf);
        var generator = model.CreateGenerator();
        var text = string.Concat(generator.Generate(check.GetProperty("prompt").GetString()!,
            new GenerationOptions { MaxTokens = 24, Sampling = SamplingOptions.Greedy }).Select(t => t.Text));
        var expected = check.GetProperty("expected_text_prefix").GetString()!;
        Assert.StartsWith(expected, text);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ThreadCountDoesNotChangeGreedyText(int threads)
    {
        var (text, _) = RunLikeLlama2c(Fixtures.Stories260KGguf, "", 120, SamplingOptions.Greedy, threads);
        Assert.StartsWith(text, Case("greedy-empty-prompt").GetProperty("expected_text").GetString());
    }
}
