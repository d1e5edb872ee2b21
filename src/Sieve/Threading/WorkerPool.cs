namespace Sieve.Threading;

/// <summary>A unit of data-parallel work: process items [start, end).</summary>
public interface IRangeWork
{
    void Execute(int start, int end);
}

/// <summary>
/// A fixed set of dedicated threads that split one range of work at a time, with the calling thread joining in.
/// </summary>
/// <remarks>
/// Decode runs ~7 matrix-vector products per layer, so a 30-layer model issues ~200 parallel regions per token;
/// at ~10 ms per token, the 5–20 µs that Parallel.For spends waking pool threads would cost several percent.
/// Workers here spin briefly on a generation counter (a region follows the last within microseconds during a
/// forward pass) and only then sleep on a semaphore, so idle time between tokens costs no CPU.
/// </remarks>
public sealed class WorkerPool : IDisposable
{
    const int SpinIterations = 20_000;   // ~50–100 µs of spinning before a worker sleeps

    readonly Thread[] _threads;
    readonly SemaphoreSlim _wake = new(0);
    int _generation;
    int _sleepers;
    volatile bool _disposed;

    IRangeWork? _work;
    int _count, _grain, _next, _pending;
    Exception? _error;

    public int ThreadCount { get; }

    public WorkerPool(int threadCount)
    {
        ThreadCount = Math.Max(1, threadCount);
        _threads = new Thread[ThreadCount - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"sieve-worker-{i + 1}" };
            _threads[i].Start();
        }
    }

    /// <summary>Threads to use when the user names none: one per physical core (SMT siblings share the FPUs).</summary>
    public static int DefaultThreadCount => Math.Max(1, PhysicalCores.Count);

    /// <summary>Runs <paramref name="work"/> over [0, count) in chunks of about <paramref name="grain"/> items.</summary>
    public void Run(IRangeWork work, int count, int grain = 0)
    {
        if (count <= 0) return;
        if (grain <= 0) grain = Math.Max(1, count / (ThreadCount * 4));
        if (_threads.Length == 0 || count <= grain)
        {
            work.Execute(0, count);
            return;
        }
        _work = work; _count = count; _grain = grain; _next = 0; _error = null;
        Volatile.Write(ref _pending, _threads.Length);
        Interlocked.Increment(ref _generation);
        int sleeping = Interlocked.Exchange(ref _sleepers, 0);
        if (sleeping > 0) _wake.Release(sleeping);

        DoChunks();
        var spin = new SpinWait();
        while (Volatile.Read(ref _pending) != 0) spin.SpinOnce(-1);
        _work = null;
        if (_error != null) throw new AggregateException("a worker thread failed", _error);
    }

    void DoChunks()
    {
        var work = _work!;
        try
        {
            while (true)
            {
                int start = Interlocked.Add(ref _next, _grain) - _grain;
                if (start >= _count) break;
                work.Execute(start, Math.Min(start + _grain, _count));
            }
        }
        catch (Exception e)
        {
            _error ??= e;
            Volatile.Write(ref _next, int.MaxValue / 2);
        }
    }

    void WorkerLoop()
    {
        int seen = 0;
        while (true)
        {
            int spins = 0;
            while (Volatile.Read(ref _generation) == seen)
            {
                if (_disposed) return;
                if (++spins < SpinIterations) { Thread.SpinWait(8); continue; }
                // A wake-up can be lost between these two lines only as a spare permit, which makes a later wait
                // return at once and loop back here: harmless.
                Interlocked.Increment(ref _sleepers);
                if (Volatile.Read(ref _generation) == seen && !_disposed) _wake.Wait();
                spins = 0;
            }
            if (_disposed) return;
            seen = Volatile.Read(ref _generation);
            DoChunks();
            Interlocked.Decrement(ref _pending);
        }
    }

    public void Dispose()
    {
        _disposed = true;
        if (_threads.Length > 0) _wake.Release(_threads.Length);
    }
}
