using Sieve.Threading;

namespace Sieve.Tests.Threading;

public class WorkerPoolTests
{
    sealed class Fill(int[] hits) : IRangeWork
    {
        public void Execute(int start, int end)
        {
            for (int i = start; i < end; i++) Interlocked.Increment(ref hits[i]);
        }
    }

    sealed class Throws : IRangeWork
    {
        public void Execute(int start, int end)
        {
            if (start == 0) throw new InvalidOperationException("boom");
        }
    }

    [Theory]
    [InlineData(1, 1000, 0)] [InlineData(2, 1000, 0)] [InlineData(3, 7, 1)] [InlineData(4, 100_000, 13)] [InlineData(2, 1, 0)]
    public void EveryItemRunsExactlyOnce(int threads, int count, int grain)
    {
        using var pool = new WorkerPool(threads);
        for (int round = 0; round < 50; round++)
        {
            var hits = new int[count];
            pool.Run(new Fill(hits), count, grain);
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void AWorkerExceptionReachesTheCaller()
    {
        using var pool = new WorkerPool(2);
        Assert.ThrowsAny<Exception>(() => pool.Run(new Throws(), 100, 1));
        var hits = new int[10];
        pool.Run(new Fill(hits), 10, 1);   // the pool still works afterwards
        Assert.All(hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void SleepingWorkersWakeForLaterWork()
    {
        using var pool = new WorkerPool(2);
        Thread.Sleep(300);   // long enough for the worker to stop spinning and block
        var hits = new int[1000];
        pool.Run(new Fill(hits), 1000, 10);
        Assert.All(hits, h => Assert.Equal(1, h));
    }
}
