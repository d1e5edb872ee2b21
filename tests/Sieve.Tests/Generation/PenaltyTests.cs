using Sieve.Generation;
using Sieve.Models;
using Xunit.Abstractions;

namespace Sieve.Tests.Generation;

/// <summary>OpenAI's presence and frequency penalties in the sampler chain.</summary>
public class PenaltyTests(ITestOutputHelper output)
{
    static float[] Logits() => [1.0f, 3.0f, 2.5f, -1f, 0.5f, 2.9f];

    // Prompt [1, 2], then the reply [1, 5, 1, 3]: counts in the reply are 1→2, 5→1, 3→1; token 2 is only in the prompt.
    static readonly int[] History = [1, 2, 1, 5, 1, 3];
    const int Generated = 4;

    [Fact]
    public void GreedyLogitsMoveByCountTimesFrequencyPlusPresence()
    {
        const float presence = 0.5f, frequency = 0.25f;
        var s = ISampler.Create(SamplingOptions.Greedy with { PresencePenalty = presence, FrequencyPenalty = frequency });
        var logits = Logits();
        int chosen = s.Sample(logits, History, Generated);
        float[] expected = [1.0f, 3.0f - (2 * frequency + presence), 2.5f, -1f - (frequency + presence), 0.5f, 2.9f - (frequency + presence)];
        Assert.Equal(expected, logits);   // 2.0, 2.15 and -1.75; the prompt-only token 2 keeps 2.5
        Assert.Equal(2, chosen);          // greedy follows the penalised logits: without penalties it picks 1 (3.0)
        Assert.Equal(1, ISampler.Create(SamplingOptions.Greedy).Sample(Logits(), History, Generated));
    }

    [Fact]
    public void NegativePenaltiesRaiseTheRepliesTokens()
    {
        var s = ISampler.Create(SamplingOptions.Greedy with { PresencePenalty = -2, FrequencyPenalty = 0 });
        var logits = Logits();
        Assert.Equal(1, s.Sample(logits, [3], 1));
        Assert.Equal(1f, logits[3]);   // -1 + 2
    }

    [Fact]
    public void SampledDrawsAreThoseOfThePlainChainOnHandPenalisedLogits()
    {
        // Same seed, so the same coins: the penalised chain must draw exactly what a penalty-free chain draws from
        // logits the formula was applied to by hand, i.e. the penalty changes the distribution and nothing else.
        var plain = new SamplingOptions { Temperature = 1.3f, TopK = 0, TopP = 1, MinP = 0, Seed = 7 };
        var penalised = ISampler.Create(plain with { PresencePenalty = 0.7f, FrequencyPenalty = 1.1f });
        var reference = ISampler.Create(plain);
        var byHand = Logits();
        byHand[1] -= 2 * 1.1f + 0.7f; byHand[5] -= 1.1f + 0.7f; byHand[3] -= 1.1f + 0.7f;
        var a = Enumerable.Range(0, 300).Select(_ => penalised.Sample(Logits(), History, Generated)).ToArray();
        var b = Enumerable.Range(0, 300).Select(_ => reference.Sample((float[])byHand.Clone(), History, 0)).ToArray();
        Assert.Equal(b, a);
        Assert.True(a.Distinct().Count() > 2, "temperature 1.3 should visit several tokens");
    }

    [Fact]
    public void NoGeneratedTokensNoPenalty()
    {
        var logits = Logits();
        ISampler.Create(SamplingOptions.Greedy with { PresencePenalty = 2, FrequencyPenalty = 2 }).Sample(logits, History, 0);
        Assert.Equal(Logits(), logits);
    }

    [Theory]
    [InlineData(2.01f, 0f)]
    [InlineData(-2.5f, 0f)]
    [InlineData(float.NaN, 0f)]
    [InlineData(0f, float.PositiveInfinity)]
    [InlineData(0f, -3f)]
    [InlineData(0f, float.NaN)]
    public void ValidateRefusesPenaltiesOutsideMinusTwoToTwo(float presence, float frequency)
    {
        var e = Assert.Throws<ArgumentException>(() => new SamplingOptions { PresencePenalty = presence, FrequencyPenalty = frequency }.Validate());
        Assert.Contains(presence != 0 ? "presence penalty" : "frequency penalty", e.Message);
        new SamplingOptions { PresencePenalty = 2, FrequencyPenalty = -2 }.Validate();
    }

    [Fact]
    public void Llama2cCompatibleRefusesPenalties()
    {
        var e = Assert.Throws<ArgumentException>(() => new SamplingOptions { Llama2cCompatible = true, FrequencyPenalty = 0.5f }.Validate());
        Assert.Contains("llama2.c", e.Message);
        new SamplingOptions { Llama2cCompatible = true }.Validate();
    }

    [Fact]
    public void GreedyWithAFrequencyPenaltyStopsRepeatingOnStories260K()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var g = m.CreateGenerator();
        int[] Run(SamplingOptions s) => g.Generate("Once upon a time", new GenerationOptions { MaxTokens = 200, Sampling = s, StopAtEndOfGeneration = false })
            .Where(t => t.Id >= 0).Select(t => t.Id).ToArray();
        var plain = Run(SamplingOptions.Greedy);
        var penalised = Run(SamplingOptions.Greedy with { FrequencyPenalty = 2 });
        // Measured: plain greedy 81 distinct of 200, its most repeated token 12×; with frequency 2, 129 distinct, 5×.
        Assert.Equal(200, penalised.Length);
        int MostRepeated(int[] ids) => ids.GroupBy(t => t).Max(x => x.Count());
        output.WriteLine($"plain: {plain.Distinct().Count()} distinct, most repeated {MostRepeated(plain)}×: {m.Tokenizer.Decode(plain)}");
        output.WriteLine($"frequency 2: {penalised.Distinct().Count()} distinct, most repeated {MostRepeated(penalised)}×: {m.Tokenizer.Decode(penalised)}");
        Assert.True(MostRepeated(penalised) < MostRepeated(plain), $"most repeated: {MostRepeated(penalised)} penalised vs {MostRepeated(plain)} plain");
        Assert.True(penalised.Distinct().Count() > plain.Distinct().Count(), $"distinct: {penalised.Distinct().Count()} penalised vs {plain.Distinct().Count()} plain");
    }
}
