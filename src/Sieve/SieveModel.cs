using Sieve.Formats;
using Sieve.Generation;
using Sieve.Models;
using Sieve.Tensors;
using Sieve.Threading;
using Sieve.Tokenization;

namespace Sieve;

/// <summary>
/// A checkpoint ready to run: weights mapped from disk, its tokenizer, and the threads to run on. The one entry
/// point for the CLI, the HTTP server and library users. Immutable and thread-safe: each thread that runs the
/// model takes its own <see cref="ForwardRunner"/> (scratch buffers) or <see cref="Generator"/>, and each
/// conversation its own <see cref="Sequence"/>; a <see cref="Scheduler"/> batches many requests into one runner.
/// Runners on different threads share <see cref="Pool"/>, taking turns region by region.
/// </summary>
public sealed class SieveModel : IDisposable
{
    public LoadedCheckpoint Checkpoint { get; }
    public TextTokenizer Tokenizer { get; }
    public Transformer Transformer { get; }
    public ModelConfig Config => Checkpoint.Config;
    public WorkerPool Pool { get; }
    readonly int _maxBatch;
    readonly WorkerPool? _ownedPool;

    SieveModel(LoadedCheckpoint checkpoint, TextTokenizer tokenizer, Transformer transformer, WorkerPool pool, bool ownsPool, int maxBatch)
    {
        Checkpoint = checkpoint; Tokenizer = tokenizer; Transformer = transformer; Pool = pool; _maxBatch = maxBatch;
        _ownedPool = ownsPool ? pool : null;
    }

    /// <summary>Loads a .gguf file, a Hugging Face folder or a llama2.c .bin (with its tokenizer.bin).</summary>
    /// <param name="pool">Threads to run on; when null the model creates (and owns) one.</param>
    public static SieveModel Load(string path, SieveModelOptions? options = null, WorkerPool? pool = null)
    {
        options ??= new SieveModelOptions();
        var checkpoint = CheckpointLoader.Load(path);
        try
        {
            var tokenizer = LoadTokenizer(checkpoint, options);
            // Fewer tokens than embedding rows is a padded vocabulary (common: rows rounded up to a multiple of 64
            // or 128); the generator never samples the rows past the tokenizer. More tokens than rows cannot run.
            if (tokenizer.VocabSize > checkpoint.Config.VocabSize)
                throw new ModelFileException(TokenizerFile(checkpoint, options),
                    $"the tokenizer has {tokenizer.VocabSize} tokens but the model's token embedding ({checkpoint.Path}) has only {checkpoint.Config.VocabSize} rows: they do not belong together");
            var owned = pool == null ? new WorkerPool(options.Threads > 0 ? options.Threads : WorkerPool.DefaultThreadCount) : null;
            return new SieveModel(checkpoint, tokenizer, new Transformer(checkpoint.Config, checkpoint.Weights), pool ?? owned!, owned != null, Math.Max(1, options.MaxBatch));
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    static TextTokenizer LoadTokenizer(LoadedCheckpoint c, SieveModelOptions o)
    {
        switch (c.Format)
        {
            case "gguf":
                return TokenizerFactory.FromGguf(c.Gguf!);
            case "huggingface":
                return TokenizerFactory.FromHuggingFace(c.Path, c.Config.VocabSize);
            default:
                var tok = o.TokenizerPath ?? c.TokenizerPath
                    ?? throw new ModelFileException(c.Path, "no tokenizer.bin beside this llama2.c checkpoint; pass --tokenizer");
                return TokenizerFactory.FromLlama2c(tok, c.Config.VocabSize);
        }
    }

    /// <summary>The file the tokenizer was read from, for errors.</summary>
    static string TokenizerFile(LoadedCheckpoint c, SieveModelOptions o) => c.Format switch
    {
        "gguf" => c.Path,
        "huggingface" => Path.Combine(c.Path, "tokenizer.json"),
        _ => o.TokenizerPath ?? c.TokenizerPath ?? c.Path,
    };

    /// <summary>Scratch for running this model on one thread (at most <paramref name="maxTokens"/> rows per step; 0: the load option).</summary>
    public ForwardRunner CreateRunner(int maxTokens = 0) => new(Transformer, Pool, maxTokens > 0 ? maxTokens : _maxBatch);

    /// <summary>Generation on the calling thread, with its own runner.</summary>
    public Generator CreateGenerator() => new(CreateRunner(), Tokenizer);

    /// <summary>A scheduler that batches concurrent requests on its own thread (dispose it to stop).</summary>
    public Scheduler CreateScheduler(SchedulerOptions? options = null) => new(this, options ?? new SchedulerOptions());

    /// <summary>The type most weight bytes are stored in (what llama.cpp calls the file type).</summary>
    public string WeightTypeSummary
    {
        get
        {
            var w = Checkpoint.Weights;
            var all = w.Layers.SelectMany(l => new[] { l.Wq, l.Wk, l.Wv, l.Wo, l.Gate, l.Up, l.Down }).Append(w.Output);
            return all.GroupBy(t => t.Type).OrderByDescending(g => g.Sum(t => t.ByteLength)).Select(g => TypeTraits.Of(g.Key).Name).First();
        }
    }

    public void Dispose()
    {
        Checkpoint.Dispose();
        _ownedPool?.Dispose();
    }
}
