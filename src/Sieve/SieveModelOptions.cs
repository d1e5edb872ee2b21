namespace Sieve;

public sealed record SieveModelOptions
{
    /// <summary>Worker threads; 0 = one per physical core.</summary>
    public int Threads { get; init; }
    /// <summary>A llama2.c tokenizer.bin, when it is not beside the checkpoint.</summary>
    public string? TokenizerPath { get; init; }
    /// <summary>Rows per forward step (a prefill chunk, or all sequences of a batched step together).</summary>
    public int MaxBatch { get; init; } = 512;
}
