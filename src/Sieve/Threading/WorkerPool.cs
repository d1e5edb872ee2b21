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
    // One semaphore per worker: with a shared one, a worker that finished early could take the permit meant
    // for a worker still asleep, leaving that one asleep and the caller waiting for it forever.
    readonly SemaphoreSlim[] _wake;
    readonly int[] _asleep;
    int _generation;
    volatile bool _disposed;

    IRangeWork? _work;
    int _count, _grain, _next, _pending;
    Exception? _error;

    public int ThreadCount { get; }

    public WorkerPool(int threadCount)
    {
        ThreadCount = Math.Max(1, threadCount);
        _threads = new Thread[ThreadCount - 1];
        _wake = new SemaphoreSlim[_threads.Length];
        _asleep = new int[_threads.Length];
        for (int i = 0; i < _threads.Length; i++)
        {
            _wake[i] = new SemaphoreSlim(0);
            int index = i;
            _threads[i] = new Thread(() => WorkerLoop(index)) { IsBackground = true, Name = $"sieve-worker-{i + 1}" };
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
        for (int i = 0; i < _asleep.Length; i++)
            if (Interlocked.Exchange(ref _asleep[i], 0) == 1) _wake[i].Release();

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

    void WorkerLoop(int index)
    {
        int seen = 0;
        while (true)
        {
            int spins = 0;
            while (Volatile.Read(ref _generation) == seen)
            {
                if (_disposed) return;
                if (++spins < SpinIterations) { Thread.SpinWait(8); continue; }
                // Both sides fence (Exchange here, Increment in Run), so either Run sees the flag and releases our
                // semaphore, or we see the new generation. A release that races our un-flagging leaves a spare
                // permit on our own semaphore: the next wait returns at once and loops back here, harmlessly.
                Interlocked.Exchange(ref _asleep[index], 1);
                if (Volatile.Read(ref _generation) == seen && !_disposed) _wake[index].Wait();
                else Interlocked.Exchange(ref _asleep[index], 0);
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
        foreach (var w in _wake) w.Release();
    }
}
