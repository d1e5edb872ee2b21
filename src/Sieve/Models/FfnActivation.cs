namespace Sieve.Models;

/// <summary>The gate activation of a gated FFN: down(act(gate·x) ⊙ up·x).</summary>
public enum FfnActivation
{
    /// <summary>silu(g) = g·σ(g): Llama, Mistral, Qwen (SwiGLU).</summary>
    Silu,
    /// <summary>GELU with the tanh approximation, ½g(1 + tanh(√(2/π)(g + 0.044715g³))): Gemma (GeGLU).</summary>
    GeluTanh,
}
