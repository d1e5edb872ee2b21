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
        using var pool = new WorkerPool(threads, oversubscribe: true);
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

    [Fact]
    public void ThreadCountIsClampedToTheCpusTheProcessMayUse()
    {
        // Issue 8: `-t 999` printed nothing in 120 s. The pool never starts more threads than there are CPUs.
        using var pool = new WorkerPool(999);
        Assert.Equal(Environment.ProcessorCount, pool.ThreadCount);
        Assert.InRange(WorkerPool.DefaultThreadCount, 1, WorkerPool.AvailableProcessors);
        var hits = new int[10_000];
        pool.Run(new Fill(hits), hits.Length, 7);
        Assert.All(hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void AnOversubscribedPoolFinishesWithoutCollapsing()
    {
        // Eight threads per CPU (16 on CI's 2): workers that the OS does not schedule must not hold a region up. The
        // old pool waited for every worker to check in, so each of these regions cost several time slices (134 s in
        // all on 2 CPUs); a generous bound separates "completes" from "collapses" without timing speed.
        using var pool = new WorkerPool(8 * Environment.ProcessorCount, oversubscribe: true);
        Assert.True(pool.ThreadCount > Environment.ProcessorCount, "premise: the pool is oversubscribed");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var hits = new int[4096];
        for (int round = 0; round < 2000; round++)
        {
            Array.Clear(hits);
            pool.Run(new Fill(hits), hits.Length, 64);
            Assert.All(hits, h => Assert.Equal(1, h));
        }
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"2000 oversubscribed regions took {sw.Elapsed.TotalSeconds:F1} s");
    }

    sealed class SlowOnWorkers(int[] hits, int callerThread) : IRangeWork
    {
        public void Execute(int start, int end)
        {
            // A chunk claimed by a worker finishes late: the caller must wait for it (results are needed), and then
            // sleeps instead of spinning, which this test cannot see but must survive.
            if (Environment.CurrentManagedThreadId != callerThread) Thread.Sleep(20);
            for (int i = start; i < end; i++) Interlocked.Increment(ref hits[i]);
        }
    }

    [Fact]
    public void TheCallerWaitsForChunksThatWorkersClaimed()
    {
        using var pool = new WorkerPool(2, oversubscribe: true);
        for (int round = 0; round < 20; round++)
        {
            var hits = new int[64];
            pool.Run(new SlowOnWorkers(hits, Environment.CurrentManagedThreadId), hits.Length, 1);
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    /// <summary>A region in which the worker holds a chunk for 300 ms: the caller's first chunk waits (up to 5 s) until
    /// the worker has joined, so the worker takes part however loaded the machine is, and the rest are instant.</summary>
    sealed class Straggling(int callerThread) : IRangeWork
    {
        volatile bool _workerIn;
        public bool WorkerJoined => _workerIn;
        public void Execute(int start, int end)
        {
            if (Environment.CurrentManagedThreadId != callerThread) { _workerIn = true; Thread.Sleep(300); return; }
            var t = System.Diagnostics.Stopwatch.StartNew();
            while (start == 0 && !_workerIn && t.Elapsed < TimeSpan.FromSeconds(5)) Thread.Sleep(1);
        }
    }

    [Fact]
    public void AWorkerThatKeepsTheCallerWaitingIsShedAndTriedAgainLater()
    {
        using var pool = new WorkerPool(2, oversubscribe: true);
        // Waiting for the straggler is most of each region's time, as when a preempted worker sits on its chunk; two
        // such regions fill the two windows the pool judges by.
        bool joined = true;
        for (int round = 0; round < 10 && pool.EnlistedThreads == 2; round++)
        {
            var straggling = new Straggling(Environment.CurrentManagedThreadId);
            pool.Run(straggling, 64, 1);
            joined &= straggling.WorkerJoined;
        }
        Assert.True(joined, "premise: the worker took part in every region");
        Assert.Equal(1, pool.EnlistedThreads);

        // Regions now run on the caller alone; after ~250 ms the pool enlists its worker again (it once never did).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        bool regrew = false;
        while (!regrew && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            var fill = new int[1000];
            pool.Run(new Fill(fill), fill.Length, 10);
            Assert.All(fill, h => Assert.Equal(1, h));
            regrew = pool.EnlistedThreads == 2;
            if (!regrew) Thread.Sleep(1);
        }
        Assert.True(regrew, "the shed worker was never tried again");
    }
}
