namespace Sieve.Models;

/// <summary>Which dimensions RoPE rotates together.</summary>
public enum RopeStyle
{
    /// <summary>Adjacent pairs (2i, 2i+1): llama2.c, and GGUF <c>llama</c> files, whose Q/K rows were permuted to suit it.</summary>
    Interleaved,
    /// <summary>Halves (i, i+d/2), "rotate_half": Hugging Face checkpoints, GGUF <c>qwen2</c>/<c>qwen3</c>/<c>gemma</c>.</summary>
    Neox,
}
