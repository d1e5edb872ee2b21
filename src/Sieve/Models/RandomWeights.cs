using Sieve.Kernels;
using Sieve.Tensors;

namespace Sieve.Models;

/// <summary>
/// Builds a model of a given shape with random weights in any supported type, in memory. Values are N(0, 0.02)
/// like a fresh initialisation, quantized with the real quantizers, so kernels see realistic blocks.
/// </summary>
public static class RandomWeights
{
    public static ModelWeights Create(ModelConfig c, GgmlType type, int seed = 1234)
    {
        var layers = new LayerWeights[c.LayerCount];
        int salt = seed;
        WeightTensor M(string name, int rows, int cols)
        {
            // Rows that do not divide into blocks stay F32, as the converter does.
            var t = cols % TypeTraits.Of(type).BlockSize == 0 ? type : GgmlType.F32;
            return Matrix(name, t, rows, cols, salt++);
        }
        float[] Ones(int n) => Enumerable.Repeat(1f, n).ToArray();
        for (int l = 0; l < c.LayerCount; l++)
        {
            layers[l] = new LayerWeights
            {
                AttnNorm = Ones(c.Dim), FfnNorm = Ones(c.Dim),
                Wq = M($"blk.{l}.attn_q", c.QDim, c.Dim), Wk = M($"blk.{l}.attn_k", c.KvDim, c.Dim),
                Wv = M($"blk.{l}.attn_v", c.KvDim, c.Dim), Wo = M($"blk.{l}.attn_output", c.Dim, c.QDim),
                Gate = M($"blk.{l}.ffn_gate", c.FfnDim, c.Dim), Up = M($"blk.{l}.ffn_up", c.FfnDim, c.Dim),
                Down = M($"blk.{l}.ffn_down", c.Dim, c.FfnDim),
                PostAttnNorm = c.SandwichNorms ? Ones(c.Dim) : null, PostFfnNorm = c.SandwichNorms ? Ones(c.Dim) : null,
                QNorm = c.QkNorm ? Ones(c.HeadDim) : null, KNorm = c.QkNorm ? Ones(c.HeadDim) : null,
                Bq = c.QkvBias ? new float[c.QDim] : null, Bk = c.QkvBias ? new float[c.KvDim] : null, Bv = c.QkvBias ? new float[c.KvDim] : null,
            };
        }
        var embedding = M("token_embd", c.VocabSize, c.Dim);
        return new ModelWeights
        {
            TokenEmbedding = embedding, Layers = layers, OutputNorm = Ones(c.Dim),
            Output = c.TiedEmbeddings ? embedding : M("output", c.VocabSize, c.Dim),
        };
    }

    static WeightTensor Matrix(string name, GgmlType type, int rows, int cols, int seed)
    {
        var info = TypeTraits.Of(type);
        long rowBytes = info.RowBytes(cols);
        var bytes = GC.AllocateUninitializedArray<byte>(checked((int)(rowBytes * rows)), pinned: true);
        // Quantizing a billion values dominates start-up, so rows are filled in parallel.
        Parallel.For(0, (rows + 63) / 64, () => (new Random(seed * 7919 + Environment.CurrentManagedThreadId), new float[cols]),
            (chunk, _, state) =>
            {
                var (rng, row) = state;
                for (int r = chunk * 64; r < Math.Min(rows, chunk * 64 + 64); r++)
                {
                    // Rows are windows at random offsets into one pool of normals: drawing a billion fresh ones would
                    // take longer than the benchmark itself.
                    int start = rng.Next(Pool.Length - cols);
                    Pool.AsSpan(start, cols).CopyTo(row);
                    var dst = bytes.AsSpan((int)(r * rowBytes), (int)rowBytes);
                    if (type is GgmlType.Q4_K or GgmlType.Q6_K) RandomKQuantRow(type, rng, dst);
                    else Quantize.Row(type, row, dst);
                }
                return state;
            }, _ => { });
        return WeightTensor.FromBytes(name, type, bytes, rows, cols);
    }

    /// <summary>
    /// Sieve has no K-quant quantizer (it converts to Q8_0/Q4_0), so K-quant benchmark weights are random blocks:
    /// random quants and sub-block scales with finite f16 super-block scales — the kernels do the same work.
    /// </summary>
    static void RandomKQuantRow(GgmlType type, Random rng, Span<byte> row)
    {
        rng.NextBytes(row);
        int blockBytes = TypeTraits.Of(type).BlockBytes;
        for (int b = 0; b < row.Length; b += blockBytes)
        {
            var block = row.Slice(b, blockBytes);
            if (type == GgmlType.Q4_K)
            {
                System.Runtime.InteropServices.MemoryMarshal.Write(block, (Half)0.0005f);           // d
                System.Runtime.InteropServices.MemoryMarshal.Write(block[2..], (Half)0.0002f);      // dmin
            }
            else
            {
                System.Runtime.InteropServices.MemoryMarshal.Write(block[208..], (Half)0.0003f);    // d
            }
        }
    }

    static readonly float[] Pool = MakePool(1 << 20);

    static float[] MakePool(int n)
    {
        var rng = new Random(42);
        var pool = new float[n];
        for (int i = 0; i < n; i++) pool[i] = Gaussian(rng) * 0.02f;
        return pool;
    }

    static float Gaussian(Random rng)
    {
        // Irwin–Hall: the sum of four uniforms is close enough to normal for weights nobody reads, and 5× cheaper than Box–Muller.
        return (float)((rng.NextDouble() + rng.NextDouble() + rng.NextDouble() + rng.NextDouble() - 2.0) * 1.7320508);
    }
}
