using System.Collections.Concurrent;
using Sieve.Cache;
using Sieve.Generation;
using Sieve.Models;
using Sieve.Models.Pop;
using Sieve.Serving.Api;
using Sieve.Tokenization;

namespace Sieve.Serving;

/// <summary>
/// One loaded model behind the server and the in-process chat client: its scheduler (continuous batching with a
/// prompt cache), chat template, metrics, and the resolution of per-request method choices into forward options
/// and cache specs. Thread-safe: every HTTP request and every <see cref="SieveChatClient"/> call goes through it.
/// </summary>
public sealed class ServingModel : IDisposable
{
    readonly ConcurrentDictionary<(int Pop, bool Sparse), ForwardOptions?> _forward = new();

    public SieveModel Model { get; }
    public ServerOptions Options { get; }
    public Scheduler Scheduler { get; }
    public ChatFormat Format { get; }
    public ServerMetrics Metrics { get; } = new();

    /// <summary>Positions each sequence holds: the server's context, within the model's.</summary>
    public int Context { get; }

    public ServingModel(SieveModel model, ServerOptions options)
    {
        if (options.Parallel < 1) throw new ArgumentOutOfRangeException(nameof(options), "--parallel must be 1 or more");
        Model = model;
        Options = options;
        Context = options.Context > 0 ? Math.Min(options.Context, model.Config.ContextLength) : model.Config.ContextLength;
        Format = ChatFormat.For(model.Tokenizer, options.ChatTemplate);
        Scheduler = model.CreateScheduler(new SchedulerOptions
        {
            MaxSequences = options.Parallel,
            MaxTokensPerStep = Math.Max(options.MaxTokensPerStep, options.Parallel),
            KvBudgetBytes = options.KvBudgetBytes,
            Cache = options.Cache,
            PromptCacheSequences = options.PromptCache < 0 ? options.Parallel : options.PromptCache,
            // Every sequence gets the whole context, as a llama-server slot does, so a kept one serves any later request.
            SequenceCapacity = Context,
        });
    }

    /// <summary>The prompt a chat renders to, through the model's template (ChatML when the checkpoint has none).</summary>
    public int[] EncodeChat(IReadOnlyList<ChatMessage> messages) =>
        Model.Tokenizer.Encode(Format.Render(messages, addGenerationPrompt: true), parseSpecial: true);

    /// <summary>
    /// The forward options and cache of a request: the server's defaults (its POP plan, its sparsity file, its KV
    /// method) with the request's own choices over them. The same choices give the same options instance, so
    /// requests that compute alike can share cached prompts.
    /// </summary>
    internal (ForwardOptions? Forward, KvCacheSpec Cache) Resolve(SieveExtension ext)
    {
        int layers = Model.Config.LayerCount;
        int pop = ext.Pop ?? Options.Pop?.SkippedLayers.Count ?? 0;
        if (pop >= layers) throw ApiException.Invalid($"'sieve.pop' is {pop}; the model has {layers} layers and at least one must run in prefill", "sieve.pop");
        bool sparse = ext.Sparsity ?? Options.Sparsity != null;
        if (sparse && Options.Sparsity == null)
            throw ApiException.Invalid("'sieve.sparsity' is true but the server was started without --sparsity-file", "sieve.sparsity");
        var forward = _forward.GetOrAdd((pop, sparse), key =>
        {
            ForwardOptions? f = null;
            if (key.Pop > 0)
            {
                // The server's own plan when the request asks for its size (it may come from a plan file or
                // importance ranking); otherwise the last N layers, as --pop N without --pop-importance.
                var plan = Options.Pop is { } p && p.SkippedLayers.Count == key.Pop ? p : PopPlan.LastLayers(layers, key.Pop);
                f = plan.Apply();
            }
            return key.Sparse ? Options.Sparsity!.Apply(f) : f;
        });
        var cache = Options.Cache;
        if (ext.Kv != null)
        {
            try { cache = KvCacheSpec.Parse(ext.Kv, ext.Budget) with
            {
                // The method's other settings are the server's command line (`--dense-set`, `--recent`, …).
                DenseSet = cache.DenseSet, RecentCap = cache.RecentCap, DenseLayers = cache.DenseLayers, AdaptiveHeadBudgets = cache.AdaptiveHeadBudgets,
                Sinks = ext.Kv == "a2ats" && cache.Method != "a2ats" ? KvCacheSpec.Parse("a2ats").Sinks : cache.Sinks, Window = cache.Window, Element = cache.Element,
                // A²ATS scores with the server's --codebooks; a request for it without them is refused when the cache is made.
                Codebooks = cache.Codebooks,
                // --kv-offload reaches the methods that keep full-precision rows; dense (F32) and Self-Indexing keep theirs in RAM.
                Tier = ext.Kv == "dense" || ext.Kv.StartsWith("selfindex") ? null : cache.Tier,
            }; }
            catch (ArgumentException e) { throw ApiException.Invalid($"'sieve': {e.Message}", ext.Budget != null ? "sieve.budget" : "sieve.kv"); }
            if (cache.Method == "a2ats" && cache.Codebooks == null)
                throw ApiException.Invalid("'sieve': kv a2ats needs codebooks, and this server was started without --codebooks", "sieve.kv");
        }
        return (forward, cache);
    }

    /// <summary>
    /// Queues one generation, refusing what can never run: a prompt beyond the context (400 with the counts), a
    /// KV need beyond the whole budget (400), a full queue (503, retry later).
    /// </summary>
    public ScheduledGeneration Submit(int[] prompt, GenerationOptions options, CancellationToken cancel)
    {
        if (prompt.Length >= Context)
            throw ApiException.Invalid($"the prompt is {prompt.Length} tokens but the context holds {Context} (and at least one position is needed for the reply)", "messages", "context_length_exceeded");
        if (Scheduler.Stats.Waiting >= Options.MaxQueue)
            throw new ApiException(503, $"the server is busy: {Options.MaxQueue} requests are already waiting", "server_error", "overloaded") { RetryAfterSeconds = 1 };
        try
        {
            var g = Scheduler.Submit(prompt, options, cancel: cancel);
            Metrics.Started(prompt.Length);
            return g;
        }
        catch (KvBudgetException e) { throw ApiException.Invalid(e.Message, null, "kv_budget_exceeded"); }
        catch (ContextLengthException e) { throw ApiException.Invalid(e.Message, "messages", "context_length_exceeded"); }
    }

    public void Dispose() => Scheduler.Dispose();
}
