using Sieve.Kernels;
using Sieve.Kernels.Sparse;
using Sieve.Tensors;
using Sieve.Threading;
using static Sieve.Tests.Kernels.Sparse.SparseMatrices;

namespace Sieve.Tests.Kernels.Sparse;

/// <summary>The masked-output product (vmmsp) against the dense product's rows, its scalar twin, and other thread counts.</summary>
public unsafe class MaskedOutputMatVecTests
{
    /// <summary>Against the scalar twin (<see cref="VecDot.DotScalar"/>, which sums in another order than the SIMD dot
    /// products): |difference| ≤ this × max(1, |y|), MatMulTests' tolerance.</summary>
    const float ScalarTwinTolerance = 1e-4f;

    public static TheoryData<GgmlType, string> TypesAndMasks()
    {
        var data = new TheoryData<GgmlType, string>();
        foreach (var t in new[] { GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K })
            foreach (var m in Masks) data.Add(t, m);
        return data;
    }

    /// <summary>Each kept row goes through the same conversion of x and the same dot product as MatMul's decode
    /// path, so y[i] = gate[i]·MatMul(W, x)[i] bit for bit; the rest are exactly +0.</summary>
    [Theory, MemberData(nameof(TypesAndMasks))]
    public void KeptRowsEqualTheDenseRowsTimesTheGate(GgmlType type, string mask)
    {
        var w = Random(type, 333, 256, 5);
        int rows = w.Rows, cols = w.Cols;
        var x = Input(cols, "0%", 6);
        var gate = Input(rows, mask, 7);
        var y = Enumerable.Repeat(float.NaN, rows).ToArray();
        var dense = new float[rows];
        using var pool = new WorkerPool(2, oversubscribe: true);
        var kernel = new MaskedOutputMatVec(pool);
        kernel.Apply(w, x, gate, y);
        new MatMul(pool).Apply(w, x, 1, dense);

        int kept = 0;
        for (int i = 0; i < rows; i++)
        {
            if (gate[i] == 0) { Assert.Equal(0, BitConverter.SingleToInt32Bits(y[i])); continue; }
            kept++;
            Assert.True(BitConverter.SingleToInt32Bits(gate[i] * dense[i]) == BitConverter.SingleToInt32Bits(y[i]), $"row {i}: {y[i]}, dense {gate[i] * dense[i]}");
        }
        Assert.Equal(kept, kernel.LastKeptRows);
        Assert.Equal(kept * w.RowBytes, kernel.LastBytesRead);

        var scalar = new float[rows];
        kernel.Scalar(w, x, gate, scalar);
        for (int i = 0; i < rows; i++)
            Assert.True(MathF.Abs(scalar[i] - y[i]) <= ScalarTwinTolerance * MathF.Max(1, MathF.Abs(scalar[i])), $"row {i}: {y[i]}, scalar twin {scalar[i]}");
        Assert.Equal(kept * w.RowBytes, kernel.LastBytesRead);
    }

    [Theory]
    [InlineData(GgmlType.F32)] [InlineData(GgmlType.F16)] [InlineData(GgmlType.Q8_0)]
    public void OneAndTwoThreadsGiveTheSameBits(GgmlType type)
    {
        var w = Random(type, 700, 512, 8);   // 350 kept rows of 0.5–2 KB: split across two threads
        var x = Input(512, "0%", 9);
        var gate = Input(700, "50%", 10);
        var one = new float[700];
        var two = new float[700];
        using (var pool = new WorkerPool(1)) new MaskedOutputMatVec(pool).Apply(w, x, gate, one);
        using (var pool = new WorkerPool(2, oversubscribe: true))
        {
            var kernel = new MaskedOutputMatVec(pool);
            kernel.Apply(w, x, gate, two);
            Assert.True(kernel.LastBytesRead >= MaskedOutputMatVec.ParallelMinBytes, "the product is large enough to be split");
        }
        Assert.True(BitwiseEqual(one, two), $"first difference at {FirstDifference(one, two)}");
    }

    /// <summary>The FFN writes act ⊙ up over act itself when it needs no separate buffer.</summary>
    [Fact]
    public void GateAndOutputMayBeTheSameBuffer()
    {
        var w = Random(GgmlType.Q8_0, 200, 128, 11);
        var x = Input(128, "0%", 12);
        var gate = Input(200, "50%", 13);
        var separate = new float[200];
        using var pool = new WorkerPool(2, oversubscribe: true);
        var kernel = new MaskedOutputMatVec(pool);
        kernel.Apply(w, x, gate, separate);
        kernel.Apply(w, x, gate, gate);
        Assert.True(BitwiseEqual(separate, gate));
    }

    [Fact]
    public void ShortBuffersAreRefused()
    {
        var w = Random(GgmlType.F32, 10, 32, 1);
        using var pool = new WorkerPool(1);
        var kernel = new MaskedOutputMatVec(pool);
        Assert.Throws<ArgumentException>(() => kernel.Apply(w, new float[31], new float[10], new float[10]));
        Assert.Throws<ArgumentException>(() => kernel.Apply(w, new float[32], new float[9], new float[10]));
        Assert.Throws<ArgumentException>(() => kernel.Apply(w, new float[32], new float[10], new float[9]));
    }
}
