using Sieve.Generation;

namespace Sieve.Tests.Generation;

/// <summary>The scheduler's prompt cache: finished sequences kept for later prompts that start the same way.</summary>
public class PromptCacheTests
{
    static GenerationOptions Greedy(int tokens) => new() { MaxTokens = tokens, Sampling = SamplingOptions.Greedy, StopAtEndOfGeneration = false };

    static async Task<(string Text, GenerationStats Stats)> Run(Scheduler s, int[] prompt, int tokens)
    {
        var g = s.Submit(prompt, Greedy(tokens));
        var text = new System.Text.StringBuilder();
        await foreach (var t in g.Tokens) text.Append(t.Text);
        return (text.ToString(), await g.Completion);
    }

    [Fact]
    public async Task A_later_request_takes_over_the_kept_prefix_and_gives_the_uncached_text()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var tok = m.Tokenizer;
        int[] first = tok.Encode("Once upon a time, there was a little girl named Lily."), second = tok.Encode("Once upon a time, there was a little girl named Lily. She liked to");
        using var cold = m.CreateScheduler(new SchedulerOptions { MaxSequences = 2, SharePrefixes = false });
        var expected = await Run(cold, second, 24);
        Assert.Equal(0, expected.Stats.CachedTokens);

        using var s = m.CreateScheduler(new SchedulerOptions { MaxSequences = 2, PromptCacheSequences = 2, SequenceCapacity = 256 });
        await Run(s, first, 8);
        Assert.Equal(1, s.Stats.KeptSequences);
        Assert.True(s.Stats.KeptKvBytes > 0);
        var warm = await Run(s, second, 24);
        // The first request's prompt (and the reply tokens that match) were cached: only the rest was prefilled.
        Assert.True(warm.Stats.CachedTokens >= first.Length - 1, $"{warm.Stats.CachedTokens} cached; the shared prompt is {first.Length} tokens");
        Assert.Equal(expected.Text, warm.Text);
        Assert.Equal(1, s.Stats.KeptSequences);   // taken over and given back, not copied
    }

    [Fact]
    public async Task The_pool_keeps_the_most_recent_and_never_a_cancelled_request()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        using var s = m.CreateScheduler(new SchedulerOptions { MaxSequences = 4, PromptCacheSequences = 2, SequenceCapacity = 128 });
        string[] prompts = ["Lily went to the park", "The cat sat on the mat", "Tom had a big red ball"];
        foreach (var p in prompts) await Run(s, m.Tokenizer.Encode(p), 4);
        Assert.Equal(2, s.Stats.KeptSequences);
        // The oldest ("Lily…") was dropped: a prompt that starts like it finds nothing cached.
        var lily = await Run(s, m.Tokenizer.Encode("Lily went to the park and"), 4);
        Assert.True(lily.Stats.CachedTokens <= 1, $"{lily.Stats.CachedTokens} cached (1: the BOS every prompt shares)");

        // A request cancelled mid-reply is never kept. On a busy machine all 500 tokens may come before the cancel
        // lands (then it finished and may be kept): try again until one really is cancelled.
        bool cancelled = false;
        for (int attempt = 0; attempt < 5 && !cancelled; attempt++)
        {
            int before = s.Stats.KeptSequences;
            using var cts = new CancellationTokenSource();
            var g = s.Submit(m.Tokenizer.Encode("A dog ran"), Greedy(500), cancel: cts.Token);
            await foreach (var _ in g.Tokens.WithCancellation(CancellationToken.None)) { cts.Cancel(); break; }
            try { await g.Completion; continue; }
            catch (OperationCanceledException) { cancelled = true; }
            Assert.True(s.Stats.KeptSequences <= before, $"{s.Stats.KeptSequences} kept after a cancel; {before} before");
            Assert.Equal(0, s.Stats.Running);
        }
        Assert.True(cancelled, "no attempt was cancelled before it finished");
    }

    [Fact]
    public async Task Kept_sequences_give_way_to_a_request_that_needs_their_memory()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        long one = Sieve.Cache.DenseKvCache.MaxBytes(Sieve.Cache.KvCacheShape.Of(m.Config, 128), 512);
        // Room for two sequences: the two kept ones must be dropped, oldest first, for two new ones to run.
        using var s = m.CreateScheduler(new SchedulerOptions { MaxSequences = 2, PromptCacheSequences = 2, SequenceCapacity = 128, KvBudgetBytes = 2 * one });
        await Run(s, m.Tokenizer.Encode("Lily went to the park"), 4);
        await Task.WhenAll(Run(s, m.Tokenizer.Encode("The cat sat"), 4), Run(s, m.Tokenizer.Encode("Tom had a ball"), 4));
        var both = await Task.WhenAll(Run(s, m.Tokenizer.Encode("One day"), 8), Run(s, m.Tokenizer.Encode("The sun"), 8));
        Assert.All(both, r => Assert.Equal(8, r.Stats.GeneratedTokens));
        Assert.True(s.Stats.KeptSequences <= 2);
    }
}
