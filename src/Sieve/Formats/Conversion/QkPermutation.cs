using Sieve.Models;

namespace Sieve.Formats.Conversion;

/// <summary>
/// Reorders the rows of Q and K (and their biases) between the two RoPE pairings. Within each head of size d,
/// rotate-half RoPE (Hugging Face, <see cref="RopeStyle.Neox"/>) pairs row i with row i + d/2, while
/// interleaved RoPE (llama2.c, GGUF llama, <see cref="RopeStyle.Interleaved"/>) pairs rows 2i and 2i+1. Moving
/// Neox row s·d/2 + i to interleaved row 2i + s makes the same model compute the same attention under the other
/// pairing; this is the reordering llama.cpp's converter applies to HF Llama weights.
/// </summary>
public static class QkPermutation
{
    /// <summary>
    /// For each output row, the source row it takes, converting rows of <paramref name="heads"/> heads from
    /// <paramref name="from"/> to <paramref name="to"/> order; null when the orders are the same.
    /// </summary>
    public static int[]? RowOrder(RopeStyle from, RopeStyle to, int heads, int headDim)
    {
        if (from == to) return null;
        if (headDim % 2 != 0) throw new ArgumentException($"head dimension {headDim} is odd");
        int half = headDim / 2;
        var order = new int[heads * headDim];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < half; i++)
                for (int s = 0; s < 2; s++)
                {
                    int interleaved = h * headDim + 2 * i + s, neox = h * headDim + s * half + i;
                    if (to == RopeStyle.Interleaved) order[interleaved] = neox;
                    else order[neox] = interleaved;
                }
        return order;
    }

    /// <summary>A vector (a bias) reordered; <paramref name="order"/> null returns it unchanged.</summary>
    public static float[] Apply(float[] v, int[]? order)
    {
        if (order == null) return v;
        if (order.Length != v.Length) throw new ArgumentException($"{v.Length} values but a permutation of {order.Length}");
        var result = new float[v.Length];
        for (int i = 0; i < v.Length; i++) result[i] = v[order[i]];
        return result;
    }
}
