using System.Numerics.Tensors;

namespace Sieve.Kernels;

/// <summary>SwiGLU gate: gate ← silu(gate) ⊙ up, where silu(g) = g·σ(g).</summary>
public static class SwiGlu
{
    public static void Apply(Span<float> gate, ReadOnlySpan<float> up)
    {
        // silu(g) = g·σ(g); TensorPrimitives.Sigmoid vectorises the exp. Chunks of 1024 keep σ in an L1-resident
        // stack buffer: prefill calls this on n × ffn values (11 MB for 512 × 5632), which must not allocate.
        const int Chunk = 1024;
        Span<float> sigma = stackalloc float[Chunk];
        for (int i = 0; i < gate.Length; i += Chunk)
        {
            int m = Math.Min(Chunk, gate.Length - i);
            var g = gate.Slice(i, m);
            var s = sigma[..m];
            TensorPrimitives.Sigmoid(g, s);
            TensorPrimitives.Multiply(g, s, g);
            TensorPrimitives.Multiply(g, up.Slice(i, m), g);
        }
    }

    public static void Scalar(Span<float> gate, ReadOnlySpan<float> up)
    {
        for (int i = 0; i < gate.Length; i++)
        {
            float g = gate[i];
            gate[i] = g * (1f / (1f + MathF.Exp(-g))) * up[i];
        }
    }
}
