using System.Diagnostics;
using Sieve.Cache;
using Sieve.Models;
using Sieve.Tokenization;

namespace Sieve.Generation;

/// <summary>
/// Prompt in, tokens out, on the calling thread: prefill the prompt, then decode one token at a time, sampling,
/// streaming the text as complete UTF-8, and stopping on end-of-generation ids, stop strings, the token budget or
/// the context end. For many concurrent requests in one batched forward pass, use a <see cref="Scheduler"/>.
/// </summary>
public sealed class Generator(ForwardRunner runner, TextTokenizer tokenizer)
{
    public ForwardRunner Runner { get; } = runner;
    public ModelConfig Config => Runner.Config;
    public TextTokenizer Tokenizer { get; } = tokenizer;
    public GenerationStats? LastStats { get; private set; }

    /// <summary>Creates the KV cache a generation uses; replace to run with a compressed or sparse cache. A generation in a
    /// fresh sequence disposes its cache when it ends (an offloaded cache's file goes then).</summary>
    public Func<int, IKvCache> CacheFactory { get; set; } = runner.CreateDenseCache;

    /// <summary>A sequence for a conversation whose turns reuse the cached prefix (capacity 0: the model's context).</summary>
    public Sequence CreateSequence(int capacity = 0, ForwardOptions? options = null) =>
        new(CacheFactory(capacity > 0 ? Math.Min(capacity, Config.ContextLength) : Config.ContextLength), options);

    public IEnumerable<GeneratedToken> Generate(string prompt, GenerationOptions options, CancellationToken cancel = default) =>
        Generate(Tokenizer.Encode(prompt), options, cancel);

    /// <summary>Generates in a fresh sequence sized for the prompt and the token budget.</summary>
    public IEnumerable<GeneratedToken> Generate(IReadOnlyList<int> prompt, GenerationOptions options, CancellationToken cancel = default)
    {
        int context = GenerationState.ContextFor(options, Config);
        GenerationState.CheckPrompt(prompt, context);
        int capacity = GenerationState.FreshCapacity(prompt, options, context);
        var cache = options.Cache is { } spec ? Runner.CreateCache(spec, capacity) : CacheFactory(capacity);
        return Owned(new Sequence(cache, options.Forward), prompt, options, capacity, cancel);
    }

    /// <summary>Runs in a sequence of its own and ends it when the tokens end (or the caller stops reading).</summary>
    IEnumerable<GeneratedToken> Owned(Sequence sequence, IReadOnlyList<int> prompt, GenerationOptions options, int capacity, CancellationToken cancel)
    {
        using (sequence)
            foreach (var token in Run(sequence, prompt, options, capacity, cancel)) yield return token;
    }

    /// <summary>
    /// Generates in <paramref name="sequence"/>, prefilling only the part of <paramref name="prompt"/> it does not
    /// already hold (a chat's earlier turns). Afterwards the sequence holds the prompt and the generated tokens.
    /// </summary>
    public IEnumerable<GeneratedToken> Generate(Sequence sequence, IReadOnlyList<int> prompt, GenerationOptions options, CancellationToken cancel = default)
    {
        int capacity = GenerationState.ContextFor(options, Config, sequence);
        GenerationState.CheckPrompt(prompt, capacity);
        return Run(sequence, prompt, options, capacity, cancel);
    }

    IEnumerable<GeneratedToken> Run(Sequence sequence, IReadOnlyList<int> prompt, GenerationOptions options, int capacity, CancellationToken cancel)
    {
        var state = new GenerationState(Tokenizer, prompt, options, Config.VocabSize, capacity);
        if (Interlocked.Exchange(ref sequence.Busy, 1) != 0)
            throw new InvalidOperationException("this sequence is already generating; a sequence runs one request at a time");
        try
        {
            foreach (var token in Steps(sequence, prompt, state, cancel)) yield return token;
        }
        finally
        {
            Volatile.Write(ref sequence.Busy, 0);
        }
    }

    IEnumerable<GeneratedToken> Steps(Sequence sequence, IReadOnlyList<int> prompt, GenerationState state, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        int reused = sequence.ReusePrefix(prompt);
        var fresh = prompt.Skip(reused).ToArray();
        // Under a POP plan the prompt's last token runs at decode depth (ForwardRunner.Ingest); a chat's next turn
        // reuses what earlier turns cached as it was computed (their replies at decode depth).
        var logits = Runner.Ingest(fresh, reused, sequence.Cache, sequence.Options);
        sequence.Stored(fresh);
        double prefill = clock.Elapsed.TotalSeconds;
        clock.Restart();
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            var step = state.Advance(logits, sequence.Position);
            if (step.Emit is { } emit) yield return emit;
            if (step.Next < 0) break;
            logits = Runner.Decode(step.Next, sequence.Position, sequence.Cache, sequence.Options);
            sequence.Stored(step.Next);
        }
        if (state.Flush() is { } tail) yield return tail;
        LastStats = new GenerationStats(prompt.Count, prefill, state.Generated, clock.Elapsed.TotalSeconds, state.StopReason, reused);
    }
}
