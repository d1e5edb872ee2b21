using Sieve.Generation;
using Sieve.Models;

namespace Sieve.Tests.Generation;

public class GeneratorTests
{
    [Fact]
    public void StopStringEndsGenerationAndIsNotEmitted()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var g = m.CreateGenerator();
        var text = string.Concat(g.Generate("Once upon a time", new GenerationOptions
        {
            MaxTokens = 100, Sampling = SamplingOptions.Greedy, StopStrings = ["Lily"],
        }).Select(t => t.Text));
        Assert.Equal(", there was a little girl named ", text);
        Assert.Equal("stop string", g.LastStats!.StopReason);
    }

    [Fact]
    public void TokenBudgetIsRespectedAndStatsReported()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var g = m.CreateGenerator();
        var tokens = g.Generate("Once upon a time", new GenerationOptions { MaxTokens = 7, Sampling = SamplingOptions.Greedy }).Where(t => t.Id >= 0).ToList();
        Assert.Equal(7, tokens.Count);
        Assert.Equal(7, g.LastStats!.GeneratedTokens);
        Assert.Equal(5, g.LastStats.PromptTokens);   // BOS + 4 prompt tokens
    }

    [Fact]
    public void APromptLongerThanTheContextIsAClearError()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var g = m.CreateGenerator();
        var prompt = string.Concat(Enumerable.Repeat("Once upon a time ", 200));
        var e = Assert.Throws<ContextLengthException>(() => g.Generate(prompt, new GenerationOptions { ContextLength = 64 }).ToList());
        Assert.Contains("context holds 64", e.Message);
    }

    [Fact]
    public void GenerationStopsAtTheEndOfTheContext()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var g = m.CreateGenerator();
        var tokens = g.Generate("Once upon a time", new GenerationOptions { MaxTokens = 500, ContextLength = 20, Sampling = SamplingOptions.Greedy, StopAtEndOfGeneration = false }).ToList();
        Assert.True(tokens.Count(t => t.Id >= 0) <= 16);
        Assert.Equal("context", g.LastStats!.StopReason);
    }
}
