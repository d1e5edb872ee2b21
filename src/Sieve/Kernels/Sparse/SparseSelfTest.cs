using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Sieve.Tensors;
using Sieve.Threading;

namespace Sieve.Kernels.Sparse;

/// <summary>
/// The sparse kernels' part of <see cref="KernelSelfTest"/> (`sieve selftest`, rerun by the tests with AVX-512, AVX2
/// and all intrinsics disabled): each against its scalar twin, on shapes with ragged tails and masks from empty to
/// full, on two threads.
/// </summary>
static unsafe class SparseSelfTest
{
    public static void Run(Random rng, Action<bool, string> check)
    {
        float[] Values(int n, float scale = 1f) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();
        using var pool = new WorkerPool(2, oversubscribe: true);

        // f16 widening: every one of the 65536 values, bit for bit (NaNs: NaN; .NET quiets a signalling NaN, the widening
        // keeps its bits, and either is a NaN to every product).
        if (Avx2.IsSupported)
        {
            var bad = 0;
            for (int h = 0; h < 65536; h += 8)
            {
                var wide = HalfWidening.Widen(Vector256.Create(h, h + 1, h + 2, h + 3, h + 4, h + 5, h + 6, h + 7));
                for (int i = 0; i < 8; i++)
                    if (!Same(wide[i], Fp16.ToFloat((ushort)(h + i)))) bad++;
            }
            check(bad == 0, $"f16 widening (256-bit), {bad} of 65536 values differ");
        }
        if (Avx512F.IsSupported)
        {
            var bad = 0;
            for (int h = 0; h < 65536; h += 16)
            {
                var wide = HalfWidening.Widen(Vector512.Create(h) + Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
                for (int i = 0; i < 16; i++)
                    if (!Same(wide[i], Fp16.ToFloat((ushort)(h + i)))) bad++;
            }
            check(bad == 0, $"f16 widening (512-bit), {bad} of 65536 values differ");
        }

        // Sparse input (spvmm): the SIMD kernels sum in the scalar twin's order, so the results are equal bit for bit.
        var sparse = new SparseInputMatVec(pool);
        foreach (var type in new[] { GgmlType.F32, GgmlType.F16, GgmlType.Q8_0 })
            foreach (var (outputs, inputs) in new[] { (1, 32), (37, 64), (64, 96), (200, 160), (1000, 256) })
            {
                var w = InputMajorWeight.From(Matrix(type, outputs, inputs, Values(outputs * inputs, 0.1f)));
                foreach (double zeros in new[] { 0.0, 0.5, 0.9, 1.0 })
                {
                    var x = Values(inputs, 2f);
                    for (int k = 0; k < inputs; k++) if (rng.NextDouble() < zeros) x[k] = 0;
                    var a = new float[outputs];
                    var b = new float[outputs];
                    SparseInputMatVec.Scalar(w, x, a);
                    sparse.Apply(w, x, b);
                    check(a.AsSpan().SequenceEqual(b), $"sparse input {type} {outputs}×{inputs}, {zeros:P0} zeros");
                    check(sparse.LastBytesRead == SparseInputMatVec.BytesRead(w, x), $"sparse input {type} bytes read, {zeros:P0} zeros");
                }
            }

        // Masked output (vmmsp): each kept row is the dense product's row times its gate, bit for bit.
        var masked = new MaskedOutputMatVec(pool);
        var matmul = new MatMul(pool);
        foreach (var type in new[] { GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0 })
            foreach (var (rows, cols) in new[] { (1, 32), (45, 96), (300, 256) })
            {
                var w = Matrix(type, rows, cols, Values(rows * cols, 0.1f));
                var x = Values(cols);
                var dense = new float[rows];
                matmul.Apply(w, x, 1, dense);
                foreach (double zeros in new[] { 0.0, 0.5, 1.0 })
                {
                    var gate = Values(rows);
                    for (int i = 0; i < rows; i++) if (rng.NextDouble() < zeros) gate[i] = 0;
                    var y = new float[rows];
                    masked.Apply(w, x, gate, y);
                    bool ok = true;
                    for (int i = 0; i < rows; i++) ok &= BitConverter.SingleToInt32Bits(y[i]) == BitConverter.SingleToInt32Bits(gate[i] == 0 ? 0f : gate[i] * dense[i]);
                    check(ok, $"masked output {type} {rows}×{cols}, {zeros:P0} zeros");
                }
            }

        // Threshold masks: per layer and per channel, widths off the vector width.
        foreach (int width in new[] { 1, 7, 8, 31, 33, 100 })
        {
            var x = Values(3 * width);
            x[0] = 0; x[^1] = -x[^1];
            var theta = Values(width).Select(MathF.Abs).ToArray();
            var a = new float[x.Length];
            var b = new float[x.Length];
            check(ThresholdMask.Apply(x, 0.4f, a) == ThresholdMask.Scalar(x, _ => 0.4f, b) && a.AsSpan().SequenceEqual(b), $"threshold mask, width {width}");
            check(ThresholdMask.Apply(x, theta, a) == ThresholdMask.Scalar(x, i => theta[i % width], b) && a.AsSpan().SequenceEqual(b), $"per-channel threshold mask, width {width}");
        }
    }

    static bool Same(float a, float b) => float.IsNaN(a) ? float.IsNaN(b) : BitConverter.SingleToInt32Bits(a) == BitConverter.SingleToInt32Bits(b);

    /// <summary>A weight of <paramref name="type"/> from row-major floats (quantized row by row).</summary>
    internal static WeightTensor Matrix(GgmlType type, int rows, int cols, float[] values)
    {
        if (type == GgmlType.F32) return WeightTensor.FromFloat32("w", values, rows, cols);
        long rowBytes = TypeTraits.Of(type).RowBytes(cols);
        var bytes = new byte[rowBytes * rows];
        for (int r = 0; r < rows; r++) Quantize.Row(type, values.AsSpan(r * cols, cols), bytes.AsSpan((int)(r * rowBytes), (int)rowBytes));
        return WeightTensor.FromBytes("w", type, bytes, rows, cols);
    }
}
