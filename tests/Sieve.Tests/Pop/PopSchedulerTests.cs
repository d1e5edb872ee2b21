using Sieve.Generation;
using Sieve.Models;
using Sieve.Models.Pop;

namespace Sieve.Tests.Pop;

/// <summary>POP per request: in one scheduler batch, a POP sequence and a dense one each get what they get alone.</summary>
public class PopSchedulerTests
{
    static GenerationOptions Greedy(int tokens, ForwardOptions? forward = null) =>
        new() { MaxTokens = tokens, Sampling = SamplingOptions.Greedy, StopAtEndOfGeneration = false, Forward = forward };

    static async Task<string> Collect(IAsyncEnumerable<GeneratedToken> tokens)
    {
        var text = new System.Text.StringBuilder();
        await foreach (var t in tokens) text.Append(t.Text);
        return text.ToString();
    }

    [Theory]
    [InlineData(32)]
    [InlineData(3)]   // chunked prefill: the prompt's last token still comes as its own decode-stage row
    public async Task APopRequestAndADenseOneShareABatchAndEachMatchesTheGenerator(int rowsPerStep)
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var pop = PopPlan.LastLayers(m.Config.LayerCount, 3).Apply();
        var g = m.CreateGenerator();
        const string prompt = "Once upon a time, there was a little girl named Lily";
        string popAlone = string.Concat(g.Generate(prompt, Greedy(24, pop)).Select(t => t.Text));
        string denseAlone = string.Concat(g.Generate(prompt, Greedy(24)).Select(t => t.Text));
        Assert.NotEqual(denseAlone, string.Concat(g.Generate(prompt, Greedy(24, (pop with { Boundary = PromptBoundary.None }))).Select(t => t.Text)));

        using var scheduler = m.CreateScheduler(new SchedulerOptions { MaxSequences = 2, MaxTokensPerStep = rowsPerStep, SharePrefixes = true });
        var a = scheduler.Submit(m.Tokenizer.Encode(prompt), Greedy(24, pop));
        var b = scheduler.Submit(m.Tokenizer.Encode(prompt), Greedy(24));
        var texts = await Task.WhenAll(Collect(a.Tokens), Collect(b.Tokens));
        Assert.Equal(popAlone, texts[0]);
        Assert.Equal(denseAlone, texts[1]);
        var stats = scheduler.Stats;
        int promptTokens = m.Tokenizer.Encode(prompt).Length;
        // Both prompts count as prefilled (the POP one's last token in its boundary row), and 23 decoded tokens each.
        Assert.Equal(2L * promptTokens, stats.PrefilledTokens + stats.SharedPrefixTokens);
        Assert.Equal(2L * 23, stats.DecodedTokens);
        Assert.Equal(0, stats.SharedPrefixTokens);   // different plans never share cached rows
    }

    [Fact]
    public void AChatTurnUnderPopReusesItsPrefixAndMatchesAReplay()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var pop = PopPlan.LastLayers(m.Config.LayerCount, 2).Apply();
        var g = m.CreateGenerator();
        var seq = g.CreateSequence(128, pop);
        var turn1 = m.Tokenizer.Encode("Once upon a time");
        var reply1 = g.Generate(seq, turn1, Greedy(8)).Select(t => t.Id).Where(id => id >= 0).ToArray();
        var turn2 = seq.Tokens.Concat(m.Tokenizer.Encode("The cat sat").Skip(1)).ToArray();
        var reply2 = g.Generate(seq, turn2, Greedy(8)).Select(t => t.Id).Where(id => id >= 0).ToArray();
        Assert.True(g.LastStats!.CachedTokens > 0, "the second turn did not reuse the cached prefix");

        // The replay: turn 1 ingested under POP and its reply decoded; the new tokens ingested under POP from there.
        var tf = m.CreateRunner(64);
        var cache = tf.CreateDenseCache(128);
        var logits = tf.Ingest(turn1, 0, cache, pop).ToArray();
        int pos = turn1.Length;
        foreach (int id in reply1[..^1]) logits = tf.Decode(id, pos++, cache, pop).ToArray();
        int reused = g.LastStats.CachedTokens;
        Assert.Equal(pos, reused);   // what the sequence held: the prompt and all but the last reply token
        logits = tf.Ingest(turn2.AsSpan(reused), reused, cache, pop).ToArray();
        Assert.Equal(reply2[0], Array.IndexOf(logits, logits.Max()));
    }
}
