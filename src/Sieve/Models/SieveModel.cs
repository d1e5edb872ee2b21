using Sieve.Formats;
using Sieve.Generation;
using Sieve.Tensors;
using Sieve.Threading;
using Sieve.Tokenization;

namespace Sieve.Models;

/// <summary>
/// A checkpoint ready to run: weights mapped from disk, its tokenizer, and the forward pass over them. The one
/// entry point for the CLI, the HTTP server and library users.
/// </summary>
public sealed class SieveModel : IDisposable
{
    public LoadedCheckpoint Checkpoint { get; }
    public TextTokenizer Tokenizer { get; }
    public Transformer Transformer { get; }
    public ModelConfig Config => Checkpoint.Config;
    readonly WorkerPool? _ownedPool;

    SieveModel(LoadedCheckpoint checkpoint, TextTokenizer tokenizer, Transformer transformer, WorkerPool? ownedPool)
    {
        Checkpoint = checkpoint; Tokenizer = tokenizer; Transformer = transformer; _ownedPool = ownedPool;
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
            var transformer = new Transformer(checkpoint.Config, checkpoint.Weights, pool ?? owned!, options.MaxBatch);
            return new SieveModel(checkpoint, tokenizer, transformer, owned);
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
                return TokenizerFactory.FromHuggingFace(c.Path);
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

    public Generator CreateGenerator() => new(Transformer, Tokenizer);

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
