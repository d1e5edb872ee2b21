using Sieve.Kernels;
using Sieve.Tensors;

namespace Sieve.Tests.Kernels.Sparse;

/// <summary>Random weights of each stored type and sparse inputs for the sparse-kernel tests.</summary>
static class SparseMatrices
{
    /// <summary>rows × cols uniform in [−scale, scale), stored as <paramref name="type"/>; Q4_K rows are real rows of
    /// llama.cpp's fixture (Sieve has no K-quant quantizer), so cols is the fixture's width (256) for Q4_K and its 512 rows repeat.</summary>
    public static WeightTensor Random(GgmlType type, int rows, int cols, int seed, float scale = 0.1f)
    {
        if (type == GgmlType.Q4_K)
        {
            using var g = Sieve.Formats.Gguf.GgufFile.Open(Fixtures.TinyK("q4_k"));
            var t = g.Tensor("blk.0.ffn_up.weight");
            var raw = new byte[t.RowBytes * rows];
            for (int r = 0; r < rows; r++) t.Row((r + seed) % t.Rows).CopyTo(raw.AsSpan((int)(r * t.RowBytes)));
            return WeightTensor.FromBytes("w", type, raw, rows, t.Cols);
        }
        var rng = new Random(seed);
        var f = Enumerable.Range(0, rows * cols).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();
        if (type == GgmlType.F32) return WeightTensor.FromFloat32("w", f, rows, cols);
        long rb = TypeTraits.Of(type).RowBytes(cols);
        var bytes = new byte[rb * rows];
        for (int r = 0; r < rows; r++) Quantize.Row(type, f.AsSpan(r * cols, cols), bytes.AsSpan((int)(r * rb), (int)rb));
        return WeightTensor.FromBytes("w", type, bytes, rows, cols);
    }

    /// <summary>The masks the tests run: a share of zeros, or "one" for a single non-zero input.</summary>
    public static readonly string[] Masks = ["0%", "50%", "90%", "100%", "one"];

    /// <summary>n values in [−2, 2) with the given mask applied (zeros at random places, or all but one).</summary>
    public static float[] Input(int n, string mask, int seed)
    {
        var rng = new Random(seed);
        var x = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        if (mask == "one")
        {
            int keep = rng.Next(n);
            for (int i = 0; i < n; i++) if (i != keep) x[i] = 0;
            return x;
        }
        double zeros = double.Parse(mask.TrimEnd('%')) / 100;
        for (int i = 0; i < n; i++) if (rng.NextDouble() < zeros) x[i] = 0;
        return x;
    }

    public static bool BitwiseEqual(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) return false;
        for (int i = 0; i < a.Length; i++) if (BitConverter.SingleToInt32Bits(a[i]) != BitConverter.SingleToInt32Bits(b[i])) return false;
        return true;
    }

    public static int FirstDifference(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        for (int i = 0; i < Math.Min(a.Length, b.Length); i++) if (BitConverter.SingleToInt32Bits(a[i]) != BitConverter.SingleToInt32Bits(b[i])) return i;
        return -1;
    }
}
