using Sieve.Generation;
using Sieve.Models;

namespace Sieve.Tests.Generation;

/// <summary>Log-probabilities on generated tokens: log_softmax of the raw logits, checked against double arithmetic.</summary>
public class LogprobTests
{
    const double Tolerance = 1e-4;
    const string Prompt = "Once upon a time";

    static GenerationOptions Greedy(int topLogprobs, int tokens = 12) =>
        new() { MaxTokens = tokens, Sampling = SamplingOptions.Greedy, StopAtEndOfGeneration = false, TopLogprobs = topLogprobs };

    /// <summary>log_softmax in double, by the definition: x − log Σ exp(x).</summary>
    static double[] LogSoftmax(ReadOnlySpan<float> logits)
    {
        double max = double.NegativeInfinity;
        foreach (float x in logits) max = Math.Max(max, x);
        double sum = 0;
        foreach (float x in logits) sum += Math.Exp(x - max);
        var result = new double[logits.Length];
        for (int i = 0; i < logits.Length; i++) result[i] = logits[i] - max - Math.Log(sum);
        return result;
    }

    [Fact]
    public void ChosenAndTopLogprobsAreLogSoftmaxOfTheRunnersLogits()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var tokens = m.CreateGenerator().Generate(Prompt, Greedy(5)).ToList();
        Assert.Equal(12, tokens.Count);

        // Replay the same steps through a runner of our own and check each token against its step's logits.
        var prompt = m.Tokenizer.Encode(Prompt);
        var runner = m.CreateRunner();
        var cache = runner.CreateDenseCache(prompt.Length + tokens.Count);
        var logits = runner.Ingest(prompt, 0, cache);
        int vocab = Math.Min(m.Tokenizer.VocabSize, m.Config.VocabSize);
        for (int step = 0; step < tokens.Count; step++)
        {
            var t = tokens[step];
            var expected = LogSoftmax(logits[..vocab]);
            var lp = Assert.IsType<TokenLogprobs>(t.Logprobs);
            Assert.InRange(lp.Logprob, expected[t.Id] - Tolerance, expected[t.Id] + Tolerance);
            Assert.Equal(5, lp.Top.Count);
            var best = expected.Select((v, id) => (v, id)).OrderByDescending(x => x.v).ThenBy(x => x.id).Take(5).ToArray();
            for (int k = 0; k < 5; k++)
            {
                Assert.Equal(best[k].id, lp.Top[k].Id);
                Assert.InRange(lp.Top[k].Logprob, best[k].v - Tolerance, best[k].v + Tolerance);
                if (k > 0) Assert.True(lp.Top[k - 1].Logprob >= lp.Top[k].Logprob, $"step {step}: top list not descending at {k}");
            }
            Assert.Equal(t.Id, lp.Top[0].Id);   // greedy picks the most likely token
            Assert.True(lp.Logprob <= 0);
            logits = runner.Decode(t.Id, prompt.Length + step, cache);
        }
    }

    [Fact]
    public void LogprobsDoNotChangeGreedyOutput()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var g = m.CreateGenerator();
        var off = g.Generate(Prompt, Greedy(-1, 40)).ToList();
        var on = g.Generate(Prompt, Greedy(20, 40)).ToList();
        Assert.Equal(off.Select(t => (t.Id, t.Text)), on.Select(t => (t.Id, t.Text)));
        Assert.All(off, t => Assert.Null(t.Logprobs));
        Assert.All(on, t => Assert.Equal(20, t.Logprobs!.Top.Count));
    }

    [Fact]
    public void ZeroTopLogprobsGivesTheChosenTokensOnly()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var tokens = m.CreateGenerator().Generate(Prompt, Greedy(0)).ToList();
        Assert.All(tokens, t => { Assert.Empty(t.Logprobs!.Top); Assert.InRange(t.Logprobs.Logprob, -100f, 0f); });
    }

    [Fact]
    public void EverySampledTokenHasAnEntryEvenWhenAStopStringHoldsItsText()
    {
        // "Lily" ends this greedy reply; the token that completes it has no text of its own but was sampled.
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var g = m.CreateGenerator();
        var options = new GenerationOptions { MaxTokens = 100, Sampling = SamplingOptions.Greedy, StopStrings = ["Lily"], TopLogprobs = 1 };
        var tokens = g.Generate(Prompt, options).ToList();
        Assert.Equal(", there was a little girl named ", string.Concat(tokens.Select(t => t.Text)));
        Assert.Equal("stop string", g.LastStats!.StopReason);
        Assert.Equal(g.LastStats.GeneratedTokens, tokens.Count(t => t.Id >= 0));
        Assert.All(tokens.Where(t => t.Id >= 0), t => Assert.NotNull(t.Logprobs));
    }

    [Fact]
    public async Task TheSchedulerCarriesTheSameLogprobs()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var expected = m.CreateGenerator().Generate(Prompt, Greedy(3)).ToList();
        using var scheduler = m.CreateScheduler(new SchedulerOptions { MaxSequences = 2 });
        var got = new List<GeneratedToken>();
        await foreach (var t in scheduler.GenerateAsync(Prompt, Greedy(3))) got.Add(t);
        Assert.Equal(expected.Select(t => t.Id), got.Select(t => t.Id));
        for (int i = 0; i < got.Count; i++)
        {
            Assert.InRange(got[i].Logprobs!.Logprob, expected[i].Logprobs!.Logprob - Tolerance, expected[i].Logprobs!.Logprob + Tolerance);
            Assert.Equal(expected[i].Logprobs!.Top.Select(x => x.Id), got[i].Logprobs!.Top.Select(x => x.Id));
        }
    }

    [Theory]
    [InlineData(21)]
    [InlineData(-2)]
    public void ValidateRefusesTopLogprobsOutsideTheRange(int top)
    {
        var e = Assert.Throws<ArgumentException>(() => new GenerationOptions { TopLogprobs = top }.Validate());
        Assert.Contains("top logprobs", e.Message);
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        Assert.Throws<ArgumentException>(() => m.CreateGenerator().Generate(Prompt, new GenerationOptions { TopLogprobs = top }).ToList());
    }
}
