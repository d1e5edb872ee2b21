using Sieve.Cache;
using Sieve.Cache.Sparse;
using Sieve.Cache.Storage;
using Sieve.Generation;

namespace Sieve.Tests.Generation;

/// <summary>A cache whose sequence ends is disposed (an offloaded cache's file goes then), by whoever made the sequence.</summary>
public class CacheLifetimeTests
{
    static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    /// <summary>Offloads to a real directory and counts the tiers made and disposed.</summary>
    sealed class CountingOffload(string dir) : IKvTierFactory
    {
        readonly KvOffload _inner = new(dir);
        public int Created, Disposed;
        public string Name => "counting";
        public IKvTier Create(KvCacheShape shape)
        {
            Interlocked.Increment(ref Created);
            return new Tier(_inner.Create(shape), this);
        }

        sealed class Tier(IKvTier inner, CountingOffload owner) : IKvTier
        {
            public IKvStore CreateStore(int layer, int kvHead, int headDim, KvElement element, bool trackPositions, int rows) =>
                inner.CreateStore(layer, kvHead, headDim, element, trackPositions, rows);
            public void Dispose()
            {
                Interlocked.Increment(ref owner.Disposed);
                inner.Dispose();
            }
        }
    }

    static GenerationOptions Quest(IKvTierFactory tier, int tokens) => new()
    {
        MaxTokens = tokens, Sampling = SamplingOptions.Greedy, StopAtEndOfGeneration = false,
        Cache = KvCacheSpec.Parse("quest", "16") with { Tier = tier },
    };

    [Fact]
    public void AGeneratorDisposesTheCacheOfAFreshSequenceWhenItEndsOrIsLeft()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var tier = new CountingOffload(Fixtures.TempDir());
        var g = m.CreateGenerator();
        Assert.Equal(30, g.Generate("Once upon a time", Quest(tier, 30)).Count());
        Assert.Equal((1, 1), (tier.Created, tier.Disposed));
        Assert.Equal(2, g.Generate("The cat sat", Quest(tier, 30)).Take(2).Count());   // the caller stops reading
        Assert.Equal((2, 2), (tier.Created, tier.Disposed));
        var seq = new Sequence(g.Runner.CreateCache(Quest(tier, 0).Cache!, 64));   // a caller's sequence: theirs to end
        Assert.Equal(5, g.Generate(seq, m.Tokenizer.Encode("A dog ran"), Quest(tier, 5)).Count());
        Assert.Equal((3, 2), (tier.Created, tier.Disposed));
        seq.Dispose();
        Assert.Equal((3, 3), (tier.Created, tier.Disposed));
    }

    [Fact]
    public async Task TheSchedulerDisposesTheCacheOfEveryFinishedOrCancelledRequest()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var tier = new CountingOffload(Fixtures.TempDir());
        using var scheduler = m.CreateScheduler(new SchedulerOptions { MaxSequences = 4 });
        var done = new[] { "Once upon a time", "The cat sat", "Tom had a big red ball" }
            .Select(p => scheduler.Submit(m.Tokenizer.Encode(p), Quest(tier, 40))).ToArray();
        using var cancel = new CancellationTokenSource();
        var doomed = scheduler.Submit(m.Tokenizer.Encode("A dog ran"), Quest(tier, 400), cancel: cancel.Token);
        await foreach (var _ in doomed.Tokens) { cancel.Cancel(); break; }
        foreach (var d in done) await d.Completion.WaitAsync(Deadline);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => doomed.Completion.WaitAsync(Deadline));
        Assert.Equal(4, tier.Created);
        Assert.Equal(4, tier.Disposed);
    }
}
