using System.Diagnostics;

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
/// <para>Decode runs ~7 matrix-vector products per layer, so a 30-layer model issues ~200 parallel regions per token;
/// at ~10 ms per token, the 5–20 µs that Parallel.For spends waking pool threads would cost several percent. Workers
/// here spin briefly on the region slot (a region follows the last within microseconds during a forward pass) and
/// only then sleep on a semaphore, so idle time between tokens costs no CPU.</para>
/// <para>Shared machines: a worker the OS has not scheduled must never hold the caller up. The caller claims chunks
/// like any worker and waits only for chunks already claimed, so a region whose workers are all descheduled simply
/// runs on the caller, as with one thread. Workers spin for 100 µs, not milliseconds: a spinning worker that the
/// scheduler preempts in favour of another process is the one that then sits on a claimed chunk, while workers that
/// sleep get the scheduler's wake-up preference. (20 µs cost llama-1b decode ~5 % on a quiet machine: gaps between
/// regions of one token are often longer, and a futex wake in this VM takes tens of µs.) If stragglers still cost more than half the time in regions (two
/// ~20 ms windows running), the pool enlists one worker fewer, and tries one more again after ~0.25 s (backing off to 4 s), so a
/// busy machine degrades to the speed of the CPUs it actually gets rather than collapsing. Measured on 2 cores with
/// one kept busy by another process: see the issue 8 note in the README.</para>
/// </remarks>
public sealed class WorkerPool : IDisposable
{
    /// <summary>How long an idle worker spins before it sleeps: long enough to bridge most gaps between two regions
    /// of one forward pass, short enough that a worker does not burn a time slice another process needs.</summary>
    static readonly long SpinTicks = Stopwatch.Frequency / 10_000;          // 100 µs
    /// <summary>The caller spins this long for stragglers, then sleeps until the last one signals.</summary>
    static readonly long CallerSpinTicks = Stopwatch.Frequency / 20_000;    // 50 µs
    /// <summary>How often a pool that shed workers tries one more (doubling while the tries fail).</summary>
    static readonly long RegrowTicks = Stopwatch.Frequency / 4;              // 250 ms
    /// <summary>Time in regions over which the straggler share is judged.</summary>
    static readonly long WindowTicks = Stopwatch.Frequency / 50;             // 20 ms

    /// <summary>One parallel region: a range, the next unclaimed item, and who is still working on claimed items.</summary>
    sealed class Region(IRangeWork work, int count, int grain, int helpers)
    {
        public readonly IRangeWork Work = work;
        public readonly int Count = count, Grain = grain, Helpers = helpers;
        public int Next;
        /// <summary>Threads inside <see cref="Claim"/>; a thread enters before it claims, so a claimed chunk is always
        /// covered by a count here until it is done.</summary>
        public int Active;
        public int CallerAsleep;
        public Exception? Error;
    }

    readonly Thread[] _threads;
    // One semaphore per worker: with a shared one, a worker that finished early could take the permit meant
    // for a worker still asleep, leaving that one asleep and the caller waiting for it forever.
    readonly SemaphoreSlim[] _wake;
    readonly int[] _asleep;
    readonly SemaphoreSlim _callerWake = new(0);
    Region? _region;
    readonly Lock _callers = new();
    int _running;   // managed id of the thread inside Run, 0 when none
    [ThreadStatic] static WorkerPool? t_workerOf;
    volatile bool _disposed;

    // Straggler accounting (caller thread only).
    int _enlisted;
    long _windowTotal, _windowWaited, _lastResize, _regrowAfter = RegrowTicks;
    int _badWindows;
    bool _probing;

    public int ThreadCount { get; }

    /// <summary>Threads the pool has working at present (≤ <see cref="ThreadCount"/>; fewer after stragglers).</summary>
    public int EnlistedThreads => _enlisted + 1;

    /// <param name="threadCount">Threads including the caller; clamped to <see cref="AvailableProcessors"/>.</param>
    /// <param name="oversubscribe">Keep a thread count above the CPUs the process may use (tests of the pool).</param>
    public WorkerPool(int threadCount, bool oversubscribe = false)
    {
        ThreadCount = Math.Max(1, oversubscribe ? threadCount : Math.Min(threadCount, AvailableProcessors));
        _threads = new Thread[ThreadCount - 1];
        _wake = new SemaphoreSlim[_threads.Length];
        _asleep = new int[_threads.Length];
        _enlisted = _threads.Length;
        for (int i = 0; i < _threads.Length; i++)
        {
            _wake[i] = new SemaphoreSlim(0);
            int index = i;
            _threads[i] = new Thread(() => WorkerLoop(index)) { IsBackground = true, Name = $"sieve-worker-{i + 1}" };
            _threads[i].Start();
        }
    }

    /// <summary>CPUs this process may run on: .NET's count already honours the affinity mask and a cgroup CPU quota.</summary>
    public static int AvailableProcessors => Environment.ProcessorCount;

    /// <summary>Threads to use when the user names none: one per physical core (SMT siblings share the FPUs).</summary>
    public static int DefaultThreadCount => Math.Max(1, Math.Min(PhysicalCores.Count, AvailableProcessors));

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
        int me = Environment.CurrentManagedThreadId;
        if (Volatile.Read(ref _running) == me || t_workerOf == this)
            throw new InvalidOperationException("WorkerPool.Run was entered again from inside one of its own regions");
        // Callers on other threads (two runners sharing a model's pool) take turns, one region each: regions are
        // microseconds to milliseconds long, so turns interleave finely and each caller gets a share of the threads.
        _callers.Enter();
        Volatile.Write(ref _running, me);
        try
        {
            long start = Stopwatch.GetTimestamp();
            int helpers = Math.Min(_enlisted, (count + grain - 1) / grain - 1);
            var region = new Region(work, count, grain, helpers);
            Volatile.Write(ref _region, region);
            for (int i = 0; i < helpers; i++)
                if (Interlocked.Exchange(ref _asleep[i], 0) == 1) _wake[i].Release();

            Interlocked.Increment(ref region.Active);
            Claim(region);
            long mine = Stopwatch.GetTimestamp();
            if (Interlocked.Decrement(ref region.Active) != 0) WaitForStragglers(region, mine);
            long end = Stopwatch.GetTimestamp();
            Volatile.Write(ref _region, null);
            Adapt(end - start, end - mine, end);
            if (region.Error != null) throw new AggregateException("a worker thread failed", region.Error);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
            _callers.Exit();
        }
    }

    static void Claim(Region r)
    {
        try
        {
            while (true)
            {
                int start = Interlocked.Add(ref r.Next, r.Grain) - r.Grain;
                if ((uint)start >= (uint)r.Count) break;   // unsigned: late claims that wrapped past int.MaxValue end too
                r.Work.Execute(start, Math.Min(start + r.Grain, r.Count));
            }
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref r.Error, e, null);
            Volatile.Write(ref r.Next, int.MaxValue);
        }
    }

    void WaitForStragglers(Region r, long since)
    {
        var spin = new SpinWait();
        while (Volatile.Read(ref r.Active) != 0)
        {
            if (Stopwatch.GetTimestamp() - since < CallerSpinTicks) { spin.SpinOnce(-1); continue; }
            // Sleep until the last straggler signals: the CPU goes to it (or to whoever needs it) meanwhile.
            // Exchange, not a volatile write: the flag must be visible before Active is read (x86 reorders a store
            // with a later load), or the last straggler could miss it and never signal.
            Interlocked.Exchange(ref r.CallerAsleep, 1);
            if (Volatile.Read(ref r.Active) != 0) _callerWake.Wait();
            else if (Interlocked.Exchange(ref r.CallerAsleep, 0) == 0) _callerWake.Wait();   // consume its permit
            return;
        }
    }

    /// <summary>
    /// Sheds a worker when waiting for stragglers took over half the time spent in regions in two windows of ~20 ms
    /// running (time-weighted, so a tiny region with a late worker counts for what it costs). On a quiet machine a
    /// worker waking late costs up to a quarter of a decode region (one of four chunks), and a 30 % threshold over one
    /// window shed workers a few times a run on llama-1b; a preempted worker costs milliseconds on regions of tenths of
    /// one, well over half. Tries one more after <see cref="RegrowTicks"/>. A try that is shed again at once doubles
    /// the wait before the next (up to 4 s), so a machine that stays busy pays for few tries.
    /// </summary>
    void Adapt(long total, long waited, long now)
    {
        _windowTotal += total;
        _windowWaited += waited;
        if (_windowTotal >= WindowTicks)
        {
            bool bad = _windowWaited > 0.5 * _windowTotal;
            _badWindows = bad ? _badWindows + 1 : 0;
            if (_badWindows >= 2 && _enlisted > 0)
            {
                _enlisted--;
                if (_probing) _regrowAfter = Math.Min(2 * _regrowAfter, 16 * RegrowTicks);
                _probing = false;
                _badWindows = 0;
                _lastResize = now;
            }
            else if (!bad && _probing)
            {
                _probing = false;
                _regrowAfter = RegrowTicks;
            }
            _windowTotal = _windowWaited = 0;
        }
        if (_enlisted < _threads.Length && now - _lastResize > _regrowAfter)
        {
            _enlisted++;
            _probing = true;
            _lastResize = now;
            _windowTotal = _windowWaited = 0;
        }
    }

    void WorkerLoop(int index)
    {
        t_workerOf = this;
        Region? seen = null;
        while (true)
        {
            long idleSince = Stopwatch.GetTimestamp();
            Region? r;
            while ((r = Volatile.Read(ref _region)) == null || r == seen || index >= r.Helpers)
            {
                if (_disposed) return;
                if (Stopwatch.GetTimestamp() - idleSince < SpinTicks) { Thread.SpinWait(20); continue; }
                // Both sides fence (Exchange here and in Run), so either Run sees the flag and releases our
                // semaphore, or we see the new region. A release that races our un-flagging leaves a spare permit
                // on our own semaphore: the next wait returns at once and loops back here, harmlessly.
                Interlocked.Exchange(ref _asleep[index], 1);
                r = Volatile.Read(ref _region);
                if ((r == null || r == seen || index >= r.Helpers) && !_disposed) _wake[index].Wait();
                else Interlocked.Exchange(ref _asleep[index], 0);
                idleSince = Stopwatch.GetTimestamp();
            }
            if (_disposed) return;
            seen = r;
            // Arrived after every chunk was claimed: stay out of Active, or a preemption right here would keep the
            // caller waiting for a worker with nothing to do.
            if (Volatile.Read(ref r.Next) >= r.Count) continue;
            Interlocked.Increment(ref r.Active);
            Claim(r);
            if (Interlocked.Decrement(ref r.Active) == 0 && Interlocked.Exchange(ref r.CallerAsleep, 0) == 1)
                _callerWake.Release();
        }
    }

    public void Dispose()
    {
        _disposed = true;
        foreach (var w in _wake) w.Release();
    }
}
