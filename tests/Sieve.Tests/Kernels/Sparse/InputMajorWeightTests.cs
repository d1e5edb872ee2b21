using Sieve.Kernels.Sparse;
using Sieve.Tensors;
using static Sieve.Tests.Kernels.Sparse.SparseMatrices;

namespace Sieve.Tests.Kernels.Sparse;

/// <summary>The input-major copy: layout, exact round trip, memory.</summary>
public unsafe class InputMajorWeightTests
{
    /// <summary>F32, F16 and Q8_0 sources keep every weight exactly (Q8_0: the same f16 scale, widened, times the same
    /// int8 quant as the source block's dequantization).</summary>
    [Theory]
    [InlineData(GgmlType.F32, 4.0)] [InlineData(GgmlType.F16, 2.0)] [InlineData(GgmlType.Q8_0, 1.125)]
    public void EveryWeightIsRecoveredExactly(GgmlType type, double bytesPerWeight)
    {
        foreach (var (rows, cols) in new[] { (1, 32), (70, 96), (129, 160) })
        {
            var w = Random(type, rows, cols, rows);
            var t = InputMajorWeight.From(w);
            Assert.Equal(type, t.Type);
            Assert.Equal((cols, rows), (t.Inputs, t.Outputs));
            Assert.Equal((long)(bytesPerWeight * rows * cols), t.ByteLength);
            Assert.Equal(0, (long)t.Data % 64);
            var f = w.ToFloat32();
            for (int o = 0; o < rows; o++)
                for (int k = 0; k < cols; k++)
                    Assert.Equal(BitConverter.SingleToInt32Bits(f[o * cols + k]), BitConverter.SingleToInt32Bits(t.Value(o, k)));
        }
    }

    [Fact]
    public void Q8_0LayoutIsScalesThenQuantsPerBlock()
    {
        var w = Random(GgmlType.Q8_0, 3, 64, 1);
        var t = InputMajorWeight.From(w);
        Assert.Equal(3L * (32 + 4), t.BlockBytes);
        for (int o = 0; o < 3; o++)
            for (int b = 0; b < 2; b++)
            {
                byte* block = w.RowPointer(o) + b * 34;
                Assert.Equal((float)*(Half*)block, ((float*)(t.Data + b * t.BlockBytes))[o]);
                for (int i = 0; i < 32; i++)
                    Assert.Equal(((sbyte*)(block + 2))[i], ((sbyte*)(t.Data + b * t.BlockBytes + 3 * 4 + i * 3))[o]);
            }
    }

    /// <summary>BF16 becomes f16 (exact in f16's normal range); Q4_0 and Q4_K are re-quantized to Q8_0, within half a
    /// Q8_0 step (max|w| of the 32-value block / 127 / 2) plus the f16 rounding of the new scale (up to 127·2⁻¹¹ of a step).</summary>
    [Theory]
    [InlineData(GgmlType.BF16)] [InlineData(GgmlType.Q4_0)] [InlineData(GgmlType.Q4_K)]
    public void OtherTypesAreConverted(GgmlType type)
    {
        var w = Random(type, 40, 256, 3);
        var t = InputMajorWeight.From(w);
        Assert.Equal(type == GgmlType.BF16 ? GgmlType.F16 : GgmlType.Q8_0, t.Type);
        var f = w.ToFloat32();
        int cols = w.Cols;
        for (int o = 0; o < w.Rows; o++)
            for (int k = 0; k < cols; k++)
            {
                float source = f[o * cols + k];
                if (type == GgmlType.BF16) { Assert.Equal((float)(Half)source, t.Value(o, k)); continue; }
                float amax = 0;
                for (int i = k / 32 * 32; i < k / 32 * 32 + 32; i++) amax = MathF.Max(amax, MathF.Abs(f[o * cols + i]));
                Assert.True(MathF.Abs(t.Value(o, k) - source) <= amax / 127 * (0.5f + 127f / 2048) + 1e-7f, $"W[{o},{k}] = {source}, copy {t.Value(o, k)}");
            }
    }

    [Fact]
    public void ThreadCountDoesNotChangeTheCopy()
    {
        var w = Random(GgmlType.Q4_0, 300, 128, 4);
        var a = InputMajorWeight.From(w, maxThreads: 1);
        var b = InputMajorWeight.From(w);
        Assert.True(new ReadOnlySpan<byte>(a.Data, (int)a.ByteLength).SequenceEqual(new ReadOnlySpan<byte>(b.Data, (int)b.ByteLength)));
    }
}
