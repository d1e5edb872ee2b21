using System.Text.Json;
using Sieve.Generation;

namespace Sieve.Tests.Models;

/// <summary>
/// Gemma 2 against llama.cpp b4748: greedy tokens from a random-weight F32 model whose prompt is longer than its
/// sliding window (tests/fixtures/gemma2-mini/PROVENANCE.md). Embedding scale, sandwich norms, GeGLU, both soft-caps,
/// the alternating windows and the ring caches must all be right for 48 tokens to agree.
/// </summary>
public class Gemma2LlamaCppOracleTests
{
    static string Dir => Path.Combine(Fixtures.Dir, "gemma2-mini");

    [Fact]
    public void GreedyTokensMatchLlamaCpp()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "llamacpp-greedy.json")));
        string prompt = doc.RootElement.GetProperty("prompt").GetString()!;
        int[] expected = doc.RootElement.GetProperty("greedy_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();

        using var m = SieveModel.Load(Path.Combine(Dir, "gemma2-mini.gguf"), new SieveModelOptions { Threads = 2 });
        Assert.Equal("gemma2", m.Config.Architecture);
        int promptTokens = m.Tokenizer.Encode(prompt, addBos: true).Length;
        Assert.True(promptTokens > 2 * m.Config.SlidingWindow, $"the premise: the prompt ({promptTokens} tokens) outruns the window ({m.Config.SlidingWindow})");
        var ids = m.CreateGenerator().Generate(prompt, new GenerationOptions { MaxTokens = expected.Length, Sampling = SamplingOptions.Greedy, StopAtEndOfGeneration = false })
            .Select(t => t.Id).ToArray();
        Assert.Equal(expected, ids);
    }
}
