using Sieve.Kernels;
using Sieve.Kernels.Quant;
using Sieve.Tensors;
using Sieve.Threading;

namespace Sieve.Tests.Kernels;

/// <summary>The matrix product driver (threads, 4×4 tiles, edges) against row-by-row scalar dot products.</summary>
public unsafe class MatMulTests
{
    static WeightTensor RandomMatrix(GgmlType type, int rows, int cols, int seed)
    {
        var rng = new Random(seed);
        var f = Enumerable.Range(0, rows * cols).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        if (type == GgmlType.F32) return WeightTensor.FromFloat32("w", f, rows, cols);
        if (type is GgmlType.Q4_K or GgmlType.Q6_K)
        {
            // No K-quant quantizer (Sieve converts to Q8_0/Q4_0 only): take real rows from llama.cpp's file.
            using var g = Sieve.Formats.Gguf.GgufFile.Open(Fixtures.TinyK(type == GgmlType.Q4_K ? "q4_k" : "q6_k"));
            var t = g.Tensor("blk.0.ffn_up.weight");
            var raw = new byte[t.RowBytes * rows];
            for (int r = 0; r < rows; r++) t.Row(r).CopyTo(raw.AsSpan((int)(r * t.RowBytes)));
            return WeightTensor.FromBytes("w", type, raw, rows, t.Cols);
        }
        long rb = TypeTraits.Of(type).RowBytes(cols);
        var bytes = new byte[rb * rows];
        for (int r = 0; r < rows; r++) Quantize.Row(type, f.AsSpan(r * cols, cols), bytes.AsSpan((int)(r * rb), (int)rb));
        return WeightTensor.FromBytes("w", type, bytes, rows, cols);
    }

    [Theory]
    [InlineData(GgmlType.Q8_0, 37, 96, 1)] [InlineData(GgmlType.Q8_0, 37, 96, 4)] [InlineData(GgmlType.Q8_0, 64, 256, 70)]
    [InlineData(GgmlType.Q8_0, 9, 64, 7)] [InlineData(GgmlType.Q4_0, 21, 128, 6)] [InlineData(GgmlType.Q4_K, 5, 256, 3)]
    [InlineData(GgmlType.Q6_K, 6, 256, 5)] [InlineData(GgmlType.F32, 13, 40, 5)] [InlineData(GgmlType.F16, 13, 48, 2)] [InlineData(GgmlType.BF16, 7, 80, 3)]
    public void MatchesScalarDotProducts(GgmlType type, int rows, int cols, int n)
    {
        var w = RandomMatrix(type, rows, cols, rows * 31 + cols);
        cols = w.Cols;
        var rng = new Random(n);
        var x = Enumerable.Range(0, n * cols).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var y = new float[n * rows];
        using var pool = new WorkerPool(2);
        new MatMul(pool).Apply(w, x, n, y);

        var dotType = TypeTraits.Of(type).VecDotType;
        var xq = new byte[TypeTraits.Of(dotType).RowBytes(cols)];
        for (int j = 0; j < n; j++)
        {
            if (dotType == GgmlType.F32) System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan(j * cols, cols)).CopyTo(xq);
            else Quantize.Row(dotType, x.AsSpan(j * cols, cols), xq);
            fixed (byte* px = xq)
                for (int r = 0; r < rows; r++)
                {
                    float expected = VecDot.DotScalar(type, w.RowPointer(r), px, cols);
                    Assert.True(MathF.Abs(expected - y[j * rows + r]) <= 1e-4f * MathF.Max(1, MathF.Abs(expected)),
                        $"y[{j},{r}] = {y[j * rows + r]}, scalar {expected}");
                }
        }
    }

    [RequiresAvxVnniFact]
    public void TileMatchesItsScalarTwin()
    {
        int cols = 128;
        var w = RandomMatrix(GgmlType.Q8_0, 4, cols, 1);
        var xw = RandomMatrix(GgmlType.Q8_0, 4, cols, 2);
        int pb = Q8_0Tile.PreparedBytes(cols);
        var prepared = new byte[4 * pb];
        var y = new float[16];
        fixed (byte* p = prepared)
        fixed (float* py = y)
        {
            for (int j = 0; j < 4; j++) Q8_0Tile.Prepare(xw.RowPointer(j), p + j * pb, cols);
            Q8_0Tile.Dot4x4(w.RowPointer(0), w.RowBytes, p, pb, cols, py, 4);
            for (int j = 0; j < 4; j++)
                for (int i = 0; i < 4; i++)
                {
                    float scalar = Q8_0Tile.Dot1x1(w.RowPointer(i), p + j * pb, cols);
                    float reference = BlockQ8_0.DotScalar(w.RowPointer(i), xw.RowPointer(j), cols);
                    Assert.Equal(reference, scalar, 1e-4f);
                    Assert.Equal(scalar, y[j * 4 + i], 1e-4f);
                }
        }
    }

    [RequiresAvx2Fact]
    public void EightFourAndTwoRowKernelsEqualOneRowDotProductsBitForBit()
    {
        // Batched decode relies on it: a sequence's row through a group kernel must equal the same row through Dot
        // alone. 15 rows = one group each of 8, 4, 2 and 1; a group block of 10 restarts the groups (8, 2, then 4, 1).
        foreach (int groupBlock in new[] { 64, 10 })
        foreach (int cols in new[] { 32, 96, 2048 })
        {
            const int n = 15, wRows = 3;
            var w = RandomMatrix(GgmlType.Q8_0, wRows, cols, cols);
            var x = RandomMatrix(GgmlType.Q8_0, n, cols, cols + 1);
            int blocks = cols / 32;
            var panel = new float[n * blocks];
            var y = new float[n * wRows];
            var groups = new List<int>();
            fixed (float* pp = panel, py = y)
            {
                Q8_0Rows.ScalePanels(x.RowPointer(0), x.RowBytes, n, blocks, groupBlock, pp);
                for (int xb = 0; xb < n; xb += groupBlock)
                {
                    int xe = Math.Min(n, xb + groupBlock);
                    for (int j = xb, g; j < xe; j += g)
                    {
                        g = Q8_0Rows.GroupSize(j, xe);
                        groups.Add(g);
                        for (int r = 0; r < wRows; r++)
                        {
                            float* yj = py + j * wRows + r;
                            float* pj = pp + j * blocks;
                            if (g == 8) Q8_0Rows.Dot1x8(w.RowPointer(r), x.RowPointer(j), x.RowBytes, pj, cols, yj, wRows);
                            else if (g == 4) Q8_0Rows.Dot1x4(w.RowPointer(r), x.RowPointer(j), x.RowBytes, pj, cols, yj, wRows);
                            else if (g == 2) Q8_0Rows.Dot1x2(w.RowPointer(r), x.RowPointer(j), x.RowBytes, pj, cols, yj, wRows);
                            else *yj = BlockQ8_0.Dot(w.RowPointer(r), x.RowPointer(j), cols);
                        }
                    }
                }
            }
            Assert.Equal(groupBlock == 64 ? new[] { 8, 4, 2, 1 } : new[] { 8, 2, 4, 1 }, groups);
            for (int j = 0; j < n; j++)
                for (int r = 0; r < wRows; r++)
                {
                    float alone = BlockQ8_0.Dot(w.RowPointer(r), x.RowPointer(j), cols);
                    Assert.Equal(BitConverter.SingleToInt32Bits(alone), BitConverter.SingleToInt32Bits(y[j * wRows + r]));
                    Assert.Equal(BlockQ8_0.DotScalar(w.RowPointer(r), x.RowPointer(j), cols), y[j * wRows + r], 1e-3f);
                }
        }
    }
}
