using Sieve.Kernels;
using Sieve.Kernels.Sparse;
using Sieve.Tensors;
using Sieve.Threading;
using static Sieve.Tests.Kernels.Sparse.SparseMatrices;

namespace Sieve.Tests.Kernels.Sparse;

/// <summary>
/// The sparse-input product (spvmm) against its scalar twin, the dense product on the masked input, and itself on
/// other thread counts.
/// </summary>
public unsafe class SparseInputMatVecTests
{
    /// <summary>F32 against a double-precision reference: |error| ≤ this × Σ_k |x_k·W[o,k]|. A float sum of n terms in
    /// a fixed order is off by at most about n·2⁻²⁴ of that (1.9e-5 at n = 320 inputs, the widest here); the tolerance
    /// allows that bound.</summary>
    const double F32SumTolerance = 2e-5;

    /// <summary>Q8_0 against <see cref="MatMul"/> on the masked input and against the double product: both kernels round
    /// x to Q8_0 (8 bits a value, half a step of max|x|/127 per value in a block; MatMul's scale also rounded to f16,
    /// the sparse kernel's kept in f32). |difference| ≤ this ×
    /// Σ_k |x_k·W[o,k]| + <see cref="Floor"/>.</summary>
    const double Q8ActivationTolerance = 0.01;

    /// <summary>Quantized sources other than Q8_0 are re-quantized to Q8_0 by the input-major copy: each weight moves
    /// by at most this many steps of its new block's scale max|w|/127 (half a step of rounding, plus the f16 rounding
    /// of the scale, 127·2⁻¹¹ steps). Against the double product of the source weights, |error| ≤
    /// Σ_k |x_k|·this·max|w|/127 + the float-sum error + <see cref="Floor"/>.</summary>
    const double RequantizedSteps = 0.5 + 127.0 / 2048;

    /// <summary>Absolute slack for outputs whose terms nearly cancel.</summary>
    const double Floor = 1e-6;

    public static TheoryData<GgmlType, string> TypesAndMasks()
    {
        var data = new TheoryData<GgmlType, string>();
        foreach (var t in new[] { GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K })
            foreach (var m in Masks) data.Add(t, m);
        return data;
    }

    static (WeightTensor W, InputMajorWeight T) Weights(GgmlType type, int outputs, int inputs, int seed)
    {
        var w = Random(type, outputs, inputs, seed);
        return (w, InputMajorWeight.From(w));
    }

    /// <summary>The SIMD kernel sums each output in the scalar twin's order with the same fused multiply-adds, so the
    /// two agree bit for bit (on any thread split: outputs are independent).</summary>
    [Theory, MemberData(nameof(TypesAndMasks))]
    public void SimdEqualsScalarTwinBitForBit(GgmlType type, string mask)
    {
        foreach (var (outputs, inputs) in new[] { (1, 256), (37, 256), (64, 512), (333, 256), (1000, 512) })
        {
            var (_, t) = Weights(type, outputs, inputs, outputs + inputs);
            var x = Input(t.Inputs, mask, outputs);
            var expected = new float[outputs];
            var y = Enumerable.Repeat(float.NaN, outputs).ToArray();   // stale values must be overwritten
            SparseInputMatVec.Scalar(t, x, expected);
            using var pool = new WorkerPool(2, oversubscribe: true);
            new SparseInputMatVec(pool).Apply(t, x, y);
            Assert.True(BitwiseEqual(expected, y), $"{type} {outputs}×{t.Inputs}, mask {mask}: first difference at {FirstDifference(expected, y)}");
        }
    }

    /// <summary>F32 and F16: the dense product on the masked input, summed in the same order (k increasing, one fused
    /// multiply-add each, from the row-major weight), is equal exactly; against double it is within a float sum's error.</summary>
    [Theory]
    [InlineData(GgmlType.F32, "0%")] [InlineData(GgmlType.F32, "50%")] [InlineData(GgmlType.F32, "90%")]
    [InlineData(GgmlType.F32, "100%")] [InlineData(GgmlType.F32, "one")]
    [InlineData(GgmlType.F16, "50%")] [InlineData(GgmlType.F16, "one")]
    public void FloatWeightsEqualTheDenseProductOnTheMaskedInput(GgmlType type, string mask)
    {
        const int outputs = 203, inputs = 320;
        var (w, t) = Weights(type, outputs, inputs, 11);
        var x = Input(inputs, mask, 12);
        var y = new float[outputs];
        using var pool = new WorkerPool(2, oversubscribe: true);
        new SparseInputMatVec(pool).Apply(t, x, y);

        var wf = w.ToFloat32();
        for (int o = 0; o < outputs; o++)
        {
            float ordered = 0;
            double exact = 0, magnitude = 0;
            for (int k = 0; k < inputs; k++)
            {
                float wk = wf[o * inputs + k];
                if (x[k] != 0) ordered = MathF.FusedMultiplyAdd(x[k], wk, ordered);
                exact += (double)x[k] * wk;
                magnitude += Math.Abs((double)x[k] * wk);
            }
            Assert.Equal(BitConverter.SingleToInt32Bits(ordered), BitConverter.SingleToInt32Bits(y[o]));
            Assert.True(Math.Abs(y[o] - exact) <= F32SumTolerance * magnitude, $"y[{o}] = {y[o]}, double {exact}");
        }
    }

    /// <summary>Q8_0: against MatMul on the masked input (which rounds x to Q8_0) within <see cref="Q8ActivationTolerance"/>;
    /// Q4_0 and Q4_K (re-quantized to Q8_0 at copy time) against the double product of their own weights.</summary>
    [Theory]
    [InlineData(GgmlType.Q8_0, "0%")] [InlineData(GgmlType.Q8_0, "50%")] [InlineData(GgmlType.Q8_0, "90%")]
    [InlineData(GgmlType.Q8_0, "100%")] [InlineData(GgmlType.Q8_0, "one")]
    [InlineData(GgmlType.Q4_0, "50%")] [InlineData(GgmlType.Q4_K, "50%")] [InlineData(GgmlType.Q4_K, "one")]
    public void QuantizedWeightsMatchTheDenseProductOnTheMaskedInput(GgmlType type, string mask)
    {
        var (w, t) = Weights(type, 150, 256, 21);
        int outputs = w.Rows, inputs = w.Cols;
        var x = Input(inputs, mask, 22);
        var y = new float[outputs];
        var dense = new float[outputs];
        using var pool = new WorkerPool(2, oversubscribe: true);
        new SparseInputMatVec(pool).Apply(t, x, y);
        new MatMul(pool).Apply(w, x, 1, dense);

        var wf = w.ToFloat32();
        for (int o = 0; o < outputs; o++)
        {
            double exact = 0, magnitude = 0, requantized = 0;
            for (int k = 0; k < inputs; k++)
            {
                exact += (double)x[k] * wf[o * inputs + k];
                magnitude += Math.Abs((double)x[k] * wf[o * inputs + k]);
                float amax = 0;
                for (int i = k / 32 * 32; i < k / 32 * 32 + 32; i++) amax = MathF.Max(amax, MathF.Abs(wf[o * inputs + i]));
                requantized += Math.Abs(x[k]) * RequantizedSteps * amax / 127;
            }
            if (type == GgmlType.Q8_0)
            {
                Assert.True(Math.Abs(y[o] - dense[o]) <= Q8ActivationTolerance * magnitude + Floor, $"y[{o}] = {y[o]}, MatMul {dense[o]}");
                // the kernel rounds each block of x to Q8_0 as MatMul does (integer products), so the same bound holds
                Assert.True(Math.Abs(y[o] - exact) <= Q8ActivationTolerance * magnitude + Floor, $"y[{o}] = {y[o]}, double {exact}");
            }
            else Assert.True(Math.Abs(y[o] - exact) <= requantized + F32SumTolerance * magnitude + Floor, $"y[{o}] = {y[o]}, double {exact}");
        }
    }

    /// <summary>F32 and F16 inputs need not come in 32s: the last, short group is scanned one value at a time.</summary>
    [Theory]
    [InlineData(GgmlType.F32, 1)] [InlineData(GgmlType.F32, 77)] [InlineData(GgmlType.F16, 45)] [InlineData(GgmlType.F16, 161)]
    public void InputWidthsOffTheBlockSizeWork(GgmlType type, int inputs)
    {
        var (_, t) = Weights(type, 99, inputs, inputs);
        foreach (var mask in Masks)
        {
            var x = Input(inputs, mask, inputs + 1);
            var expected = new float[99];
            var y = new float[99];
            SparseInputMatVec.Scalar(t, x, expected);
            using var pool = new WorkerPool(2, oversubscribe: true);
            var kernel = new SparseInputMatVec(pool);
            kernel.Apply(t, x, y);
            Assert.True(BitwiseEqual(expected, y), $"{type} ×{inputs}, mask {mask}");
            Assert.Equal(x.Count(v => v != 0), kernel.LastActiveInputs);
        }
    }

    [Theory]
    [InlineData(GgmlType.F32)] [InlineData(GgmlType.F16)] [InlineData(GgmlType.Q8_0)]
    public void OneAndTwoThreadsGiveTheSameBits(GgmlType type)
    {
        // 700 outputs (11 column units, the last one ragged) × 512 inputs at 50%: 180–720 KB read, so two threads split it.
        var (_, t) = Weights(type, 700, 512, 31);
        var x = Input(512, "50%", 32);
        var one = new float[700];
        var two = new float[700];
        using (var pool = new WorkerPool(1)) new SparseInputMatVec(pool).Apply(t, x, one);
        using (var pool = new WorkerPool(2, oversubscribe: true))
        {
            var kernel = new SparseInputMatVec(pool);
            Assert.True(kernel.LastBytesRead == 0);
            kernel.Apply(t, x, two);
            Assert.True(kernel.LastBytesRead >= SparseInputMatVec.ParallelMinBytes, "the product is large enough to be split");
        }
        Assert.True(BitwiseEqual(one, two), $"first difference at {FirstDifference(one, two)}");
    }

    [Theory]
    [InlineData(GgmlType.F32, 4)] [InlineData(GgmlType.F16, 2)] [InlineData(GgmlType.Q8_0, 1)]
    public void BytesReadCountsTheRowsOfActiveInputsAndTheScalesOfActiveBlocks(GgmlType type, int bytesPerWeight)
    {
        const int outputs = 90, inputs = 128;
        var (_, t) = Weights(type, outputs, inputs, 41);
        var x = new float[inputs];
        x[3] = 1; x[5] = -2; x[40] = 0.5f; x[127] = 3; x[64] = -0f;   // 4 active inputs in blocks 0, 1, 3; −0 is zero
        using var pool = new WorkerPool(1);
        var kernel = new SparseInputMatVec(pool);
        kernel.Apply(t, x, new float[outputs]);
        long expected = 4L * outputs * bytesPerWeight + (type == GgmlType.Q8_0 ? 3L * outputs * sizeof(float) : 0);
        Assert.Equal(expected, kernel.LastBytesRead);
        Assert.Equal(expected, SparseInputMatVec.BytesRead(t, x));
        Assert.Equal(4, kernel.LastActiveInputs);

        kernel.Apply(t, new float[inputs], new float[outputs]);
        Assert.Equal(0, kernel.LastBytesRead);
    }

    [Fact]
    public void AllZeroInputGivesZerosAndNaNPropagates()
    {
        var (_, t) = Weights(GgmlType.Q8_0, 70, 64, 51);
        using var pool = new WorkerPool(1);
        var kernel = new SparseInputMatVec(pool);
        var y = Enumerable.Repeat(7f, 70).ToArray();
        kernel.Apply(t, new float[64], y);
        Assert.All(y, v => Assert.Equal(0f, v));

        var x = new float[64];
        x[10] = float.NaN;
        kernel.Apply(t, x, y);
        Assert.All(y, v => Assert.True(float.IsNaN(v)));
    }

    [Fact]
    public void RowsRunOneSparseProductEach()
    {
        const int n = 3, outputs = 130, inputs = 96;
        var (_, t) = Weights(GgmlType.F16, outputs, inputs, 61);
        var x = Input(inputs, "50%", 1).Concat(Input(inputs, "one", 2)).Concat(Input(inputs, "100%", 3)).ToArray();
        var y = new float[n * outputs];
        using var pool = new WorkerPool(2, oversubscribe: true);
        var kernel = new SparseInputMatVec(pool);
        kernel.ApplyRows(t, x, n, y);
        long bytes = 0;
        for (int r = 0; r < n; r++)
        {
            var expected = new float[outputs];
            SparseInputMatVec.Scalar(t, x.AsSpan(r * inputs, inputs), expected);
            Assert.True(BitwiseEqual(expected, y.AsSpan(r * outputs, outputs)), $"row {r}");
            bytes += SparseInputMatVec.BytesRead(t, x.AsSpan(r * inputs, inputs));
        }
        Assert.Equal(bytes, kernel.LastBytesRead);
        Assert.Throws<ArgumentException>(() => kernel.ApplyRows(t, x, n + 1, new float[(n + 1) * outputs]));
    }

    [RequiresAvx2Fact]
    public void HalfWideningIsExactForEveryF16Value()
    {
        for (int h = 0; h < 65536; h += 8)
        {
            var wide = HalfWidening.Widen(System.Runtime.Intrinsics.Vector256.Create(h, h + 1, h + 2, h + 3, h + 4, h + 5, h + 6, h + 7));
            for (int i = 0; i < 8; i++)
            {
                float expected = (float)BitConverter.UInt16BitsToHalf((ushort)(h + i));
                if (float.IsNaN(expected)) Assert.True(float.IsNaN(wide[i]), $"0x{h + i:X4}");
                else Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(wide[i]), $"0x{h + i:X4}: {wide[i]}, expected {expected}");
            }
        }
    }
}
