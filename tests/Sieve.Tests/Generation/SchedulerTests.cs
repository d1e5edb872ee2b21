using Sieve.Cache;
using Sieve.Generation;
using Sieve.Models;

namespace Sieve.Tests.Generation;

public class SchedulerTests
{
    static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    static readonly string[] Prompts =
    [
        "Once upon a time", "Lily went to the park", "The cat sat", "Tom had a big red ball", "One day, a little bird",
        "There was a boy named Tim", "The sun was hot", "Mom said", "Sue liked to play", "A dog ran",
        "The little girl", "Ben and Anna", "In the forest", "The old man", "She saw a", "They were happy",
    ];

    static GenerationOptions Greedy(int tokens) => new() { MaxTokens = tokens, Sampling = SamplingOptions.Greedy, StopAtEndOfGeneration = false };

    static async Task<string> Collect(IAsyncEnumerable<GeneratedToken> tokens)
    {
        var text = new System.Text.StringBuilder();
        await foreach (var t in tokens) text.Append(t.Text);
        return text.ToString();
    }

    [Fact]
    public void SixteenRequestsFromSixteenThreadsGiveTheSequentialTexts()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var g = m.CreateGenerator();
        var expected = Prompts.Select((p, i) => string.Concat(g.Generate(p, Greedy(20 + i)).Select(t => t.Text))).ToArray();

        using var scheduler = m.CreateScheduler(new SchedulerOptions { MaxSequences = 16, MaxTokensPerStep = 32 });
        var texts = new string[Prompts.Length];
        var threads = Enumerable.Range(0, Prompts.Length).Select(i => new Thread(() =>
            texts[i] = Collect(scheduler.GenerateAsync(Prompts[i], Greedy(20 + i))).GetAwaiter().GetResult())).ToList();
        threads.ForEach(t => t.Start());
        Assert.All(threads, t => Assert.True(t.Join(Deadline), "a request did not finish before the deadline"));
        Assert.Equal(expected, texts);
        var stats = scheduler.Stats;
        Assert.Equal(0, stats.Running);
        Assert.Equal(0, stats.KvBytes);
        Assert.Equal(0, stats.ReservedKvBytes);
        // 16 sequences with at most 32 rows a step: far fewer steps than the 16 × ~28 of running them one by one.
        Assert.True(stats.Steps < Prompts.Sum(p => 30), $"{stats.Steps} steps");
    }

    /// <summary>Holds the scheduler thread inside a step when asked, so a test can read its state between steps.</summary>
    sealed class Gate : IForwardHook
    {
        public volatile bool Hold;
        public readonly SemaphoreSlim Entered = new(0), Release = new(0);
        public bool Wants(ActivationSite site, int layer) => site == ActivationSite.Residual && layer == 0;
        public void OnActivation(ActivationSite site, int layer, ForwardStage stage, int startPos, int count, int width, Span<float> values)
        {
            if (!Hold) return;
            Entered.Release();
            Release.Wait();
        }
    }

    [Fact]
    public async Task CancellingHalfFreesTheirKvAtOnceAndLeavesTheOthersExact()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var g = m.CreateGenerator();
        var gate = new Gate();
        var survivorOptions = Greedy(300) with { Forward = ForwardOptions.WithHooks(gate) };
        var expected = Prompts.Take(8).Select(p => string.Concat(g.Generate(p, Greedy(300)).Select(t => t.Text))).ToArray();

        using var scheduler = m.CreateScheduler(new SchedulerOptions { MaxSequences = 16 });
        // Only the first survivor carries the gate: every step has it, and it is called once per step.
        var survivors = Prompts.Take(8).Select((p, i) => scheduler.Submit(m.Tokenizer.Encode(p), i == 0 ? survivorOptions : Greedy(300))).ToArray();
        var cancels = Enumerable.Range(0, 8).Select(_ => new CancellationTokenSource()).ToArray();
        var doomed = Prompts.Skip(8).Select((p, i) => scheduler.Submit(m.Tokenizer.Encode(p), Greedy(300), cancel: cancels[i].Token)).ToArray();
        var survivorTexts = survivors.Select(s => Collect(s.Tokens)).ToArray();

        // Each doomed request streams a few tokens, then its caller cancels.
        var doomedReads = doomed.Select(async (d, i) =>
        {
            int seen = 0;
            await foreach (var _ in d.Tokens.WithCancellation(cancels[i].Token))
                if (++seen == 3) cancels[i].Cancel();
        }).ToArray();
        foreach (var read in doomedReads)
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read).WaitAsync(Deadline);
        long bytesPerPosition = 2L * m.Config.LayerCount * m.Config.KvDim * sizeof(float);

        // The step under way when they were cancelled may still carry them; the one after it must not.
        gate.Hold = true;
        Assert.True(await gate.Entered.WaitAsync(Deadline), "the scheduler did not reach the next step");
        gate.Release.Release();
        Assert.True(await gate.Entered.WaitAsync(Deadline), "the scheduler did not reach a second step");
        var stats = scheduler.Stats;
        gate.Hold = false;
        gate.Release.Release();

        Assert.Equal(8, stats.Running);
        long expectedBytes = Prompts.Take(8).Sum(p => (m.Tokenizer.Encode(p).Length + 300) * bytesPerPosition);
        Assert.Equal(expectedBytes, stats.KvBytes);          // read from the running caches' own accounting
        Assert.Equal(expectedBytes, stats.ReservedKvBytes);
        foreach (var d in doomed)
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => d.Completion).WaitAsync(Deadline);

        Assert.Equal(expected, await Task.WhenAll(survivorTexts).WaitAsync(Deadline));
        Assert.Equal(0, scheduler.Stats.KvBytes);
    }

    [Fact]
    public async Task ARequestThatCannotFitIsRefusedAndTheOthersGoOn()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        long bytesPerPosition = 2L * m.Config.LayerCount * m.Config.KvDim * sizeof(float);
        using var scheduler = m.CreateScheduler(new SchedulerOptions { KvBudgetBytes = 100 * bytesPerPosition });
        var g = m.CreateGenerator();
        var expected = string.Concat(g.Generate(Prompts[0], Greedy(40)).Select(t => t.Text));
        var running = Collect(scheduler.GenerateAsync(Prompts[0], Greedy(40)));

        int[] tooLong = [1, .. Enumerable.Repeat(400, m.Config.ContextLength)];
        var e = Assert.Throws<ContextLengthException>(() => scheduler.Submit(tooLong, Greedy(10)));
        Assert.Contains($"context holds {m.Config.ContextLength}", e.Message);
        var kv = Assert.Throws<KvBudgetException>(() => scheduler.Submit(m.Tokenizer.Encode(Prompts[1]), Greedy(200)));
        Assert.Contains("KV budget", kv.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => scheduler.Submit([1, m.Config.VocabSize + 5], Greedy(5)));

        Assert.Equal(expected, await running.WaitAsync(Deadline));
    }

    [Fact]
    public async Task RequestsBeyondTheBudgetWaitTheirTurn()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        long bytesPerPosition = 2L * m.Config.LayerCount * m.Config.KvDim * sizeof(float);
        // Room for two requests of ~35 positions at a time.
        using var scheduler = m.CreateScheduler(new SchedulerOptions { KvBudgetBytes = 75 * bytesPerPosition });
        var g = m.CreateGenerator();
        var expected = Prompts.Take(6).Select(p => string.Concat(g.Generate(p, Greedy(30)).Select(t => t.Text))).ToArray();
        var reads = Prompts.Take(6).Select(p => Collect(scheduler.GenerateAsync(p, Greedy(30)))).ToArray();
        int most = 0;
        while (!reads.All(r => r.IsCompleted))
        {
            var s = scheduler.Stats;
            most = Math.Max(most, s.Running);
            Assert.True(s.ReservedKvBytes <= 75 * bytesPerPosition, $"reserved {s.ReservedKvBytes} bytes");
            await Task.Delay(1);
        }
        Assert.Equal(expected, await Task.WhenAll(reads).WaitAsync(Deadline));
        Assert.True(most <= 2, $"{most} requests ran at once");
    }

    [Fact]
    public async Task AChatSequenceReusesItsPrefixThroughTheScheduler()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        using var scheduler = m.CreateScheduler();
        var g = m.CreateGenerator();
        var seq = g.CreateSequence(256);
        var first = m.Tokenizer.Encode("Once upon a time");
        var run1 = scheduler.Submit(first, Greedy(12), seq);
        var text1 = await Collect(run1.Tokens).WaitAsync(Deadline);
        var stats1 = await run1.Completion;
        Assert.Equal(0, stats1.CachedTokens);
        Assert.Equal(first.Length + 11, seq.Position);   // the last sampled token is not run yet

        var second = seq.Tokens.Concat(m.Tokenizer.Encode(" The end. Then", addBos: false)).ToArray();
        var run2 = scheduler.Submit(second, Greedy(12), seq);
        var text2 = await Collect(run2.Tokens).WaitAsync(Deadline);
        var stats2 = await run2.Completion;
        Assert.Equal(first.Length + 11, stats2.CachedTokens);
        Assert.Equal(second.Length - stats2.CachedTokens, stats2.PrefilledTokens);
        Assert.Equal(string.Concat(g.Generate(second, Greedy(12)).Select(t => t.Text)), text2);
        Assert.NotEmpty(text1);
    }

    [Fact]
    public async Task TwoRequestsWithOnePromptShareItsKvRows()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var g = m.CreateGenerator();
        int[] prompt = m.Tokenizer.Encode("Once upon a time, there was a little girl named Lily. She loved to play");
        var expected = string.Concat(g.Generate(prompt, Greedy(30)).Select(t => t.Text));
        var expectedFirst = string.Concat(g.Generate(prompt, Greedy(400)).Select(t => t.Text));
        using var scheduler = m.CreateScheduler(new SchedulerOptions { MaxTokensPerStep = 64 });
        // A third request holds the scheduler between steps on demand, so the second is surely admitted while the
        // first still runs (however the machine schedules this thread).
        var gate = new Gate();
        var holder = scheduler.Submit([1, 400, 401], Greedy(450) with { Forward = ForwardOptions.WithHooks(gate) });
        var holderText = Collect(holder.Tokens);
        var first = scheduler.Submit(prompt, Greedy(400));
        var firstText = Collect(first.Tokens);
        while (scheduler.Stats.PrefilledTokens < prompt.Length + 3) await Task.Delay(1).WaitAsync(Deadline);
        gate.Hold = true;
        Assert.True(await gate.Entered.WaitAsync(Deadline), "the scheduler did not reach a step");
        var second = scheduler.Submit(prompt, Greedy(30));
        gate.Hold = false;
        gate.Release.Release();
        Assert.Equal(expected, await Collect(second.Tokens).WaitAsync(Deadline));
        Assert.Equal(expectedFirst, await firstText.WaitAsync(Deadline));
        Assert.Equal(prompt.Length - 1, scheduler.Stats.SharedPrefixTokens);
        // The second ran only its last prompt token: the holder's 3, the first's prompt, and 1.
        Assert.Equal(3 + prompt.Length + 1, scheduler.Stats.PrefilledTokens);
        await holderText.WaitAsync(Deadline);
    }

    [Fact]
    public async Task ADisposedSchedulerEndsItsRequests()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var scheduler = m.CreateScheduler();
        var run = scheduler.Submit(m.Tokenizer.Encode("Once upon a time"), Greedy(400) with { ContextLength = 0 });
        scheduler.Dispose();
        await run.Completion.ContinueWith(_ => { }).WaitAsync(Deadline);
        Assert.Throws<ObjectDisposedException>(() => scheduler.Submit([1], Greedy(1)));
    }

    [Fact]
    public async Task ZeroTokensPrefillsAndEmitsNothing()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        using var scheduler = m.CreateScheduler();
        var run = scheduler.Submit(m.Tokenizer.Encode("Once upon a time"), Greedy(0));
        Assert.Equal("", await Collect(run.Tokens).WaitAsync(Deadline));
        Assert.Equal(0, (await run.Completion).GeneratedTokens);
        Assert.Empty(m.CreateGenerator().Generate("Once upon a time", Greedy(0)));
    }

    [Fact]
    public void LimitsThatCannotWorkAreRefused()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => m.CreateScheduler(new SchedulerOptions { MaxSequences = 32, MaxTokensPerStep = 16 }));
        Assert.Contains("decode token for each of 32", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => m.CreateScheduler(new SchedulerOptions { KvBudgetBytes = -1 }));
    }
}
