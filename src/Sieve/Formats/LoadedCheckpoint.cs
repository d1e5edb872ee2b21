using Sieve.Formats.Gguf;
using Sieve.Models;

namespace Sieve.Formats;

/// <summary>
/// A model loaded from any checkpoint format: its config and its weights, which point into memory maps of the
/// files. Disposing releases the maps, after which no weight may be touched.
/// </summary>
public sealed class LoadedCheckpoint : IDisposable
{
    public required ModelConfig Config { get; init; }
    public required ModelWeights Weights { get; init; }
    /// <summary>The file or folder that was loaded.</summary>
    public required string Path { get; init; }
    /// <summary>"gguf", "huggingface" or "llama2c".</summary>
    public required string Format { get; init; }
    /// <summary>Total bytes of the files the weights come from (all shards of a sharded checkpoint).</summary>
    public long FileBytes { get; init; }
    /// <summary>Things worth telling a user about how the checkpoint was read (defaults applied, limits imposed).</summary>
    public IReadOnlyDictionary<string, string>? Notes { get; init; }

    /// <summary>
    /// Where the vocabulary lives, for the tokenizer factory: the GGUF file itself, a Hugging Face folder's
    /// tokenizer.json, or a llama2.c tokenizer.bin found beside the checkpoint. Null when none was found.
    /// </summary>
    public string? TokenizerPath { get; init; }

    /// <summary>The open GGUF file when <see cref="Format"/> is "gguf" (its metadata carries the tokenizer).</summary>
    public GgufFile? Gguf { get; init; }

    /// <summary>
    /// Per-dimension RoPE frequency divisors as stored (GGUF <c>rope_freqs.weight</c>), when the file had them;
    /// <see cref="ModelConfig.RopeScaling"/> holds the equivalent Llama 3 parameters.
    /// </summary>
    public float[]? RopeFreqFactors { get; init; }

    /// <summary>The maps (and other resources) the weights point into; released on dispose.</summary>
    public IReadOnlyList<IDisposable> Resources { get; init; } = [];

    bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var r in Resources) r.Dispose();
    }
}
