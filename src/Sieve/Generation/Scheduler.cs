using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Sieve.Cache;
using Sieve.Models;

namespace Sieve.Generation;

/// <summary>
/// Continuous batching in the library, not tied to HTTP: requests arrive from any thread, each streams its tokens
/// back as an <see cref="IAsyncEnumerable{T}"/>, and one thread runs the model. Each step admits waiting requests
/// (up to <see cref="SchedulerOptions.MaxSequences"/> and the KV budget), runs one batched forward pass (a decode
/// token for every running sequence, then prefill chunks with the rows left, as vLLM's chunked prefill and
/// llama-server's slots do), samples per sequence and retires the finished. A cancelled or finished request leaves
/// the batch before the next step, and its cache with it.
/// </summary>
public sealed class Scheduler : IDisposable
{
    readonly SieveModel _model;
    readonly SchedulerOptions _options;
    readonly ForwardRunner _runner;
    readonly Thread _thread;
    readonly Lock _lock = new();
    readonly Queue<Request> _waiting = new();      // under _lock
    readonly List<Request> _running = [];          // scheduler thread only
    readonly List<Kept> _kept = [];                // scheduler thread only: the prompt cache, oldest use first
    readonly SemaphoreSlim _wake = new(0);
    volatile bool _disposed;
    long _reserved, _keptNeed, _steps, _prefilled, _decoded, _shared, _reused;

    public Scheduler(SieveModel model, SchedulerOptions options)
    {
        options.Validate();
        _model = model; _options = options;
        _runner = model.CreateRunner(options.MaxTokensPerStep);
        _thread = new Thread(Loop) { IsBackground = true, Name = "sieve-scheduler" };
        _thread.Start();
    }

    public SchedulerOptions Options => _options;

    /// <summary>What the scheduler holds now; KV bytes are read from the running caches' own accounting.</summary>
    public SchedulerStats Stats
    {
        get
        {
            lock (_lock)
                return new SchedulerStats(_waiting.Count, _runningCount, _kvBytes,
                    Interlocked.Read(ref _reserved), Interlocked.Read(ref _steps), Interlocked.Read(ref _prefilled), Interlocked.Read(ref _decoded), Interlocked.Read(ref _shared),
                    _keptCount, _keptBytes, Interlocked.Read(ref _reused));
        }
    }

    // Published by the scheduler thread (under _lock) whenever the batch changes: the running count and the bytes
    // their caches report, read on that thread so no cache is asked while it is being written.
    int _runningCount, _keptCount;
    long _kvBytes, _keptBytes;

    void Publish()
    {
        long bytes = 0, kept = 0;
        foreach (var r in _running) bytes += r.Running.Cache.Memory.Bytes;
        foreach (var k in _kept) kept += k.Sequence.Cache.Memory.Bytes;
        lock (_lock) { _runningCount = _running.Count; _kvBytes = bytes; _keptCount = _kept.Count; _keptBytes = kept; }
    }

    /// <summary>Generates from <paramref name="prompt"/> in a fresh sequence (cache of <see cref="GenerationOptions.Cache"/> or the scheduler's default).</summary>
    public IAsyncEnumerable<GeneratedToken> GenerateAsync(IReadOnlyList<int> prompt, GenerationOptions options, CancellationToken cancel = default) =>
        Submit(prompt, options, null, cancel).Tokens;

    public IAsyncEnumerable<GeneratedToken> GenerateAsync(string prompt, GenerationOptions options, CancellationToken cancel = default) =>
        Submit(_model.Tokenizer.Encode(prompt), options, null, cancel).Tokens;

    /// <summary>
    /// Queues a request and returns at once; its tokens stream from <see cref="ScheduledGeneration.Tokens"/> and
    /// its timings complete <see cref="ScheduledGeneration.Completion"/>. With <paramref name="sequence"/> (a chat),
    /// only the part of the prompt the sequence does not hold is prefilled, and afterwards it holds the reply too.
    /// Errors about the request itself (a prompt longer than the context, a KV need beyond the whole budget) are
    /// thrown here, before it is queued.
    /// </summary>
    public ScheduledGeneration Submit(IReadOnlyList<int> prompt, GenerationOptions options, Sequence? sequence = null, CancellationToken cancel = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int context = GenerationState.ContextFor(options, _model.Config, sequence);
        GenerationState.CheckPrompt(prompt, context);
        int fresh = GenerationState.FreshCapacity(prompt, options, context);
        int capacity = sequence?.Cache.Capacity ?? (_options.SequenceCapacity > 0 ? Math.Max(fresh, Math.Min(_options.SequenceCapacity, context)) : fresh);
        // The worst case of a dense F32 cache of this capacity: full arrays for global layers, and for sliding ones a ring
        // of W − 1 + the largest chunk a step gives one sequence (MaxTokensPerStep), so windowed models reserve less.
        long need = DenseKvCache.MaxBytes(KvCacheShape.Of(_model.Config, capacity), _options.MaxTokensPerStep);
        if (_options.KvBudgetBytes > 0 && need > _options.KvBudgetBytes) throw new KvBudgetException(need, _options.KvBudgetBytes, capacity);
        foreach (int t in prompt)
            if ((uint)t >= (uint)_model.Config.VocabSize) throw new ArgumentOutOfRangeException(nameof(prompt), $"token id {t} is outside the vocabulary (0..{_model.Config.VocabSize - 1})");
        var state = new GenerationState(_model.Tokenizer, prompt, options, _model.Config.VocabSize, Math.Min(context, capacity));
        if (sequence != null && Interlocked.Exchange(ref sequence.Busy, 1) != 0)
            throw new InvalidOperationException("this sequence is already generating; a sequence runs one request at a time");
        var request = new Request(prompt.ToArray(), options, state, sequence, capacity, need, cancel);
        request.CancelRegistration = cancel.Register(() => { request.Cancelled = true; _wake.Release(); });
        lock (_lock) _waiting.Enqueue(request);
        _wake.Release();
        return new ScheduledGeneration(Read(request), request.Done.Task);
    }

    async IAsyncEnumerable<GeneratedToken> Read(Request r, [EnumeratorCancellation] CancellationToken cancel = default)
    {
        try
        {
            await foreach (var token in r.Output.Reader.ReadAllAsync(cancel).ConfigureAwait(false))
                yield return token;
        }
        finally
        {
            // A consumer that stops reading (break, dispose, its own token) ends the request.
            if (!r.Output.Reader.Completion.IsCompleted) { r.Cancelled = true; _wake.Release(); }
        }
    }

    void Loop()
    {
        var segments = new List<BatchSegment>();
        var owners = new List<Request>();
        while (!_disposed)
        {
            Retire(r => r.Cancelled, r => new OperationCanceledException(r.Cancel));
            Admit();
            if (_running.Count == 0)
            {
                _wake.Wait();
                continue;
            }
            segments.Clear(); owners.Clear();
            int rows = 0;
            foreach (var r in _running)   // decode tokens first: a running reply never waits behind a prompt
                if (r.Pending >= 0)
                {
                    segments.Add(BatchSegment.Decode(r.Running.Cache, r.Pending, r.Running.Position, r.Running.Options));
                    owners.Add(r);
                    rows++;
                }
            foreach (var r in _running)
                if (r.Pending < 0 && r.Prefilled < r.PrefillEnd && rows < _options.MaxTokensPerStep)
                {
                    // Prefill chunks stop at PrefillEnd: under a POP plan the prompt's last token is left for a
                    // decode-stage row (Pending, set below), so it runs through every layer.
                    int n = Math.Min(r.PrefillEnd - r.Prefilled, _options.MaxTokensPerStep - rows);
                    bool last = r.Prefilled + n == r.Prompt.Length;
                    segments.Add(BatchSegment.Prefill(r.Running.Cache, r.Prompt.AsMemory(r.Prefilled, n), r.Running.Position, last, r.Running.Options));
                    owners.Add(r);
                    rows += n;
                }
            try
            {
                _runner.Run(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(segments));
            }
            catch (Exception e)
            {
                // A failed step leaves its sequences' caches half-written: end those requests with the error.
                var failed = owners.ToHashSet();
                Retire(failed.Contains, _ => e);
                continue;
            }
            Interlocked.Increment(ref _steps);
            for (int i = 0; i < owners.Count; i++)
            {
                var r = owners[i];
                var seg = segments[i];
                if (seg.Stage == ForwardStage.Decode && r.Prefilled < r.Prompt.Length)
                {
                    // POP's boundary row: the prompt's last token, at decode depth; its logits give the first token.
                    r.Running.Stored(r.Pending);
                    r.Prefilled++;
                    Interlocked.Increment(ref _prefilled);
                    r.PrefillSeconds = r.Clock.Elapsed.TotalSeconds;
                    r.Clock.Restart();
                }
                else if (seg.Stage == ForwardStage.Decode)
                {
                    r.Running.Stored(r.Pending);
                    Interlocked.Increment(ref _decoded);
                }
                else
                {
                    r.Running.Stored(seg.Tokens.Span);
                    r.Prefilled += seg.Count;
                    Interlocked.Add(ref _prefilled, seg.Count);
                    if (r.Prefilled == r.PrefillEnd && r.PrefillEnd < r.Prompt.Length)
                    {
                        r.Pending = r.Prompt[r.PrefillEnd];   // the boundary row runs next step, before any prompt chunk
                        continue;
                    }
                    if (seg.LogitRows == 0) continue;
                    r.PrefillSeconds = r.Clock.Elapsed.TotalSeconds;
                    r.Clock.Restart();
                }
                var step = r.State.Advance(_runner.Logits(i), r.Running.Position);
                if (step.Emit is { } emit) r.Output.Writer.TryWrite(emit);
                r.Pending = step.Next;
                if (step.Next < 0) r.Finished = true;
            }
            Retire(r => r.Finished, _ => null);
            Publish();
        }
        Retire(_ => true, _ => new ObjectDisposedException(nameof(Scheduler)));
        while (_kept.Count > 0) Evict(0);
        lock (_lock)
            while (_waiting.TryDequeue(out var r)) Finish(r, new ObjectDisposedException(nameof(Scheduler)));
    }

    /// <summary>Moves waiting requests into the batch in arrival order while the sequence limit and KV budget allow.</summary>
    void Admit()
    {
        while (true)
        {
            Request r;
            lock (_lock)
            {
                // Cancelled while waiting: end them here, they never cost a cache.
                while (_waiting.TryPeek(out var w) && w.Cancelled) Finish(_waiting.Dequeue(), new OperationCanceledException(w.Cancel));
                if (!_waiting.TryPeek(out r!) || _running.Count >= _options.MaxSequences) return;
                // Kept prompt caches give way to a request that needs their memory, oldest first. The head waits for
                // memory rather than letting later, smaller requests overtake it forever.
                if (_options.KvBudgetBytes > 0)
                {
                    while (_kept.Count > 0 && _reserved + _keptNeed + r.Need > _options.KvBudgetBytes) Evict(0);
                    if (_reserved + _keptNeed + r.Need > _options.KvBudgetBytes) return;
                }
                _waiting.Dequeue();
            }
            try
            {
                Start(r);
            }
            catch (Exception e)
            {
                Finish(r, e);
                continue;
            }
            Interlocked.Add(ref _reserved, r.Need);
            _running.Add(r);
            Publish();
        }
    }

    void Start(Request r)
    {
        if (r.Sequence == null)
        {
            r.Spec = r.Options.Cache ?? _options.Cache;
            r.Sequence = TakeKept(r) ?? new Sequence(_runner.CreateCache(r.Spec, r.Capacity), r.Options.Forward);
            if (_options.SharePrefixes) SharePrefix(r);
        }
        r.Cached = r.Sequence.ReusePrefix(r.Prompt);
        Interlocked.Add(ref _reused, r.Cached);
        r.Prefilled = r.Cached;
        r.PrefillEnd = r.Cached + r.Sequence.Options.PrefillRows(r.Prompt.Length - r.Cached);
        if (r.PrefillEnd == r.Prefilled && r.PrefillEnd < r.Prompt.Length) r.Pending = r.Prompt[r.PrefillEnd];   // only the boundary row is left
        r.Clock.Restart();
    }

    /// <summary>
    /// Copies the longest prompt prefix a running or kept sequence holds (llama.cpp's seq_cp) when it is longer than
    /// what the request's own sequence already shares with the prompt: a shared system prompt reaches every new
    /// conversation while the conversations it started stay kept.
    /// </summary>
    void SharePrefix(Request r)
    {
        var mine = r.Sequence!;
        Sequence? best = null;
        int bestLength = CommonPrefix(mine.Tokens, r.Prompt);
        foreach (var other in _running.Select(o => o.Running).Concat(_kept.Select(k => k.Sequence)))
        {
            int n = CommonPrefix(other.Tokens, r.Prompt);
            if (n > bestLength) { best = other; bestLength = n; }
        }
        if (best == null || !Sequence.SameComputation(mine.Options, best.Options)) return;
        mine.Truncate(0);
        if (mine.TryCopyPrefix(best, bestLength)) Interlocked.Add(ref _shared, bestLength);
    }

    /// <summary>Tokens <paramref name="held"/> shares with the start of <paramref name="prompt"/>, leaving the prompt's last token to run.</summary>
    static int CommonPrefix(IReadOnlyList<int> held, int[] prompt)
    {
        int n = 0, limit = Math.Min(held.Count, prompt.Length - 1);
        while (n < limit && held[n] == prompt[n]) n++;
        return n;
    }

    /// <summary>
    /// The kept sequence this fresh request can run in: same cache method, same computation (plan, operators, no
    /// hooks), room for the request. The one sharing the longest prefix, when that is at least half of what it holds
    /// (a conversation's next turn: little is lost by taking it over); otherwise, once the pool is full, the least
    /// recently used (reusing its arrays beats allocating while it sits idle). Null: allocate. A kept sequence that
    /// shares less (a system prompt, the BOS) is not taken over but copied from, by <see cref="SharePrefix"/>.
    /// </summary>
    Sequence? TakeKept(Request r)
    {
        var forward = r.Options.Forward ?? ForwardOptions.Default;
        int best = -1, bestLength = 0, oldest = -1;
        for (int i = 0; i < _kept.Count; i++)
        {
            var k = _kept[i];
            if (k.Spec != r.Spec || k.Sequence.Cache.Capacity < r.Capacity || !Sequence.SameComputation(k.Sequence.Options, forward)) continue;
            if (oldest < 0) oldest = i;
            int n = CommonPrefix(k.Sequence.Tokens, r.Prompt);
            if (n > bestLength) { best = i; bestLength = n; }
        }
        if (best >= 0 && 2 * bestLength < _kept[best].Sequence.Tokens.Count) best = -1;
        if (best < 0 && _kept.Count >= _options.PromptCacheSequences) best = oldest;
        if (best < 0) return null;
        var taken = _kept[best].Sequence;
        Evict(best, taken: true);
        return taken;
    }

    /// <summary>Keeps a finished request's sequence for later prompts, dropping the least recently used beyond the limit.</summary>
    bool Keep(Request r)
    {
        var seq = r.Sequence!;
        if (_options.PromptCacheSequences == 0 || seq.Cache is not DenseKvCache || seq.Options.Hooks.Count != 0 || seq.Position == 0) return false;
        _kept.Add(new Kept(seq, r.Spec!, r.Need));
        _keptNeed += r.Need;
        while (_kept.Count > _options.PromptCacheSequences) Evict(0);
        return true;
    }

    /// <summary>Drops a kept sequence, and its cache with it unless <paramref name="taken"/> (a request runs in it now).</summary>
    void Evict(int index, bool taken = false)
    {
        _keptNeed -= _kept[index].Need;
        if (!taken) _kept[index].Sequence.Dispose();
        _kept.RemoveAt(index);
    }

    void Retire(Func<Request, bool> which, Func<Request, Exception?> error)
    {
        bool any = false;
        for (int i = _running.Count - 1; i >= 0; i--)
        {
            var r = _running[i];
            if (!which(r)) continue;
            _running.RemoveAt(i);
            Interlocked.Add(ref _reserved, -r.Need);
            Finish(r, error(r));
            any = true;
        }
        if (any) Publish();
    }

    void Finish(Request r, Exception? error)
    {
        r.CancelRegistration.Dispose();
        if (error == null && r.State.Flush() is { } tail) r.Output.Writer.TryWrite(tail);
        var stats = new GenerationStats(r.Prompt.Length, r.PrefillSeconds, r.State.Generated, r.Clock.Elapsed.TotalSeconds, r.State.StopReason, r.Cached);
        // A scheduler-owned sequence is kept for later prompts (a finished one, when the prompt cache is on) or
        // dropped here, and its cache with it; a caller's sequence stays theirs.
        if (r.OwnsSequence)
        {
            if (!(error == null && r.Sequence != null && Keep(r))) r.Sequence?.Dispose();
            r.Sequence = null;
        }
        else Volatile.Write(ref r.Sequence!.Busy, 0);
        r.Output.Writer.TryComplete(error);
        if (error == null) r.Done.TrySetResult(stats);
        else if (error is OperationCanceledException oce) r.Done.TrySetCanceled(oce.CancellationToken);
        else r.Done.TrySetException(error);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _wake.Release();
        _thread.Join();
    }

    sealed class Request(int[] prompt, GenerationOptions options, GenerationState state, Sequence? sequence, int capacity, long need, CancellationToken cancel)
    {
        public readonly int[] Prompt = prompt;
        public readonly GenerationOptions Options = options;
        public readonly GenerationState State = state;
        public Sequence? Sequence = sequence;
        /// <summary>The sequence of a started request.</summary>
        public Sequence Running => Sequence ?? throw new InvalidOperationException("the request has not started");
        public readonly bool OwnsSequence = sequence == null;
        public readonly int Capacity = capacity;
        public readonly long Need = need;
        public readonly CancellationToken Cancel = cancel;
        public CancellationTokenRegistration CancelRegistration;
        public readonly Channel<GeneratedToken> Output = Channel.CreateUnbounded<GeneratedToken>(new UnboundedChannelOptions { SingleWriter = true, SingleReader = true });
        public readonly TaskCompletionSource<GenerationStats> Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly Stopwatch Clock = new();
        public volatile bool Cancelled;
        public bool Finished;
        public int Prefilled, Cached, Pending = -1;
        /// <summary>Where prefill chunks stop: the prompt's length, or one less when its last token runs at decode depth (POP).</summary>
        public int PrefillEnd;
        public double PrefillSeconds;
        /// <summary>The cache method of a scheduler-owned sequence (what a kept one is matched on).</summary>
        public KvCacheSpec? Spec;
    }

    /// <summary>A finished request's sequence in the prompt cache, with the KV reservation it stands for.</summary>
    sealed record Kept(Sequence Sequence, KvCacheSpec Spec, long Need);
}

/// <summary>A queued request: its token stream and, when it ends, its timings.</summary>
public sealed record ScheduledGeneration(IAsyncEnumerable<GeneratedToken> Tokens, Task<GenerationStats> Completion);

/// <summary>A scheduler's state at one moment.</summary>
/// <param name="KvBytes">Bytes the running sequences' caches hold, from each cache's own accounting.</param>
/// <param name="ReservedKvBytes">Worst-case KV bytes reserved against the budget.</param>
/// <param name="SharedPrefixTokens">Prompt positions copied from another running sequence instead of prefilled.</param>
/// <param name="KeptSequences">Finished sequences held in the prompt cache.</param>
/// <param name="KeptKvBytes">Bytes their caches hold.</param>
/// <param name="ReusedPrefixTokens">Prompt positions a request found already cached in its sequence (its own earlier turns or a kept one) and did not prefill.</param>
public sealed record SchedulerStats(int Waiting, int Running, long KvBytes, long ReservedKvBytes, long Steps, long PrefilledTokens, long DecodedTokens, long SharedPrefixTokens,
    int KeptSequences = 0, long KeptKvBytes = 0, long ReusedPrefixTokens = 0);
