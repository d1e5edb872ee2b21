using System.Numerics.Tensors;

namespace Sieve.Kernels;

/// <summary>
/// Gemma's gated FFN activation: gate ← gelu_tanh(gate) ⊙ up, with gelu_tanh(g) = ½g(1 + tanh(√(2/π)(g + 0.044715g³)))
/// (transformers' <c>gelu_pytorch_tanh</c>).
/// </summary>
public static class GeGlu
{
    const float SqrtTwoOverPi = 0.7978845608028654f, Cubic = 0.044715f;

    /// <summary>a = ½(1 + tanh(√(2/π)(g + 0.044715g³))), so that gelu_tanh(g) = g·a (shared with <see cref="GatedActivation"/>).</summary>
    internal static void HalfOnePlusTanh(ReadOnlySpan<float> g, Span<float> a)
    {
        TensorPrimitives.Multiply(g, g, a);                  // g²
        TensorPrimitives.Multiply(a, Cubic, a);
        TensorPrimitives.Add(a, 1f, a);                      // 1 + 0.044715 g²
        TensorPrimitives.Multiply(a, g, a);                  // g + 0.044715 g³
        TensorPrimitives.Multiply(a, SqrtTwoOverPi, a);
        TensorPrimitives.Tanh(a, a);
        TensorPrimitives.Add(a, 1f, a);
        TensorPrimitives.Multiply(a, 0.5f, a);               // ½(1 + tanh)
    }

    public static void Apply(Span<float> gate, ReadOnlySpan<float> up)
    {
        // Chunks of 1024 keep the tanh argument in an L1-resident stack buffer, as SwiGlu does.
        const int Chunk = 1024;
        Span<float> t = stackalloc float[Chunk];
        for (int i = 0; i < gate.Length; i += Chunk)
        {
            int m = Math.Min(Chunk, gate.Length - i);
            var g = gate.Slice(i, m);
            var a = t[..m];
            HalfOnePlusTanh(g, a);
            TensorPrimitives.Multiply(g, a, g);
            TensorPrimitives.Multiply(g, up.Slice(i, m), g);
        }
    }

    /// <summary>The scalar reference.</summary>
    public static void Scalar(Span<float> gate, ReadOnlySpan<float> up)
    {
        for (int i = 0; i < gate.Length; i++)
        {
            double g = gate[i];
            gate[i] = (float)(0.5 * g * (1 + Math.Tanh(0.7978845608028654 * (g + 0.044715 * g * g * g))) * up[i]);
        }
    }
}
