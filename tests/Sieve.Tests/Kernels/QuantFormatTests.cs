using Sieve.Formats.Gguf;
using Sieve.Kernels;
using Sieve.Tensors;

namespace Sieve.Tests.Kernels;

/// <summary>Quantization formats against llama.cpp's own files (tests/fixtures/tiny-k-quants, see its PROVENANCE).</summary>
public unsafe class QuantFormatTests
{
    // ggml tests/test-quantize-fns.cpp: |dot − reference| / n must stay below these.
    const float MaxDotProductError = 0.02f;
    const float MaxDotProductErrorLowBit = 0.04f;

    public static IEnumerable<object[]> Types() => [["q8_0"], ["q4_0"], ["q4_k"], ["q6_k"]];

    [Theory, MemberData(nameof(Types))]
    public void DequantizationEqualsLlamaCppReferenceBitForBit(string type)
    {
        using var quant = GgufFile.Open(Fixtures.TinyK(type));
        using var reference = GgufFile.Open(Fixtures.TinyK(type + ".dequant-f32"));
        int quantized = 0;
        foreach (var info in quant.Tensors)
        {
            var t = quant.View(info);
            var expected = reference.Tensor(info.Name).ToFloat32();
            var actual = t.ToFloat32();
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++)
                if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                    Assert.Fail($"{info.Name}[{i}]: expected {expected[i]:R}, got {actual[i]:R}");
            if (t.Type != GgmlType.F32) quantized++;
        }
        Assert.True(quantized >= 14, $"only {quantized} quantized tensors in {type}");
    }

    [Fact]
    public void VectorQ8_0QuantizerEqualsTheScalarRuleByteForByte()
    {
        // Activations go through the AVX2 or AVX-512 form before every Q8_0 product. Block 0 holds exact halves
        // (amax 127 → d 1: ±2.5 → ±3, 0.5 → 1) and C's roundf trap 0.49999997 → 0; block 1 is all zero (d 0, id 0);
        // block 2 has a single non-zero value; the rest are random with mixed scales.
        var rng = new Random(7);
        const int blocks = 12;
        var x = new float[blocks * 32];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * (1 << (i / 32 % 5));
        x.AsSpan(0, 32).Clear();
        x[0] = 127f; x[1] = 2.5f; x[2] = -2.5f; x[3] = 0.5f; x[4] = -0.5f; x[5] = 0.49999997f; x[6] = -126.5f;
        x.AsSpan(32, 32).Clear();
        x.AsSpan(64, 32).Clear();
        x[70] = -3e-5f;
        var vector = new byte[blocks * 34];
        var scalar = new byte[blocks * 34];
        Quantize.Row(GgmlType.Q8_0, x, vector);
        fixed (float* px = x) fixed (byte* ps = scalar) Sieve.Kernels.Quant.BlockQ8_0.QuantizeScalar(px, ps, x.Length);
        Assert.Equal(scalar, vector);
        sbyte[] expected = [127, 3, -3, 1, -1, 0, -127];   // -126.5 rounds away from zero
        Assert.Equal(expected, vector.AsSpan(2, 7).ToArray().Select(b => (sbyte)b).ToArray());
    }

    [Theory]
    [InlineData("q8_0", GgmlType.Q8_0)]
    [InlineData("q4_0", GgmlType.Q4_0)]
    public void QuantizerReproducesLlamaCppBlocksByteForByte(string type, GgmlType ggml)
    {
        using var f32 = GgufFile.Open(Fixtures.TinyK("f32"));
        using var quant = GgufFile.Open(Fixtures.TinyK(type));
        foreach (var info in quant.Tensors)
        {
            var q = quant.View(info);
            if (q.Type != ggml) continue;
            var src = f32.Tensor(info.Name);
            var row = new float[src.Cols];
            var mine = new byte[q.RowBytes];
            for (int r = 0; r < src.Rows; r++)
            {
                Dequantize.Row(GgmlType.F32, src.Row(r), row);
                Quantize.Row(ggml, row, mine);
                if (!q.Row(r).SequenceEqual(mine))
                {
                    int at = 0;
                    while (q.Row(r)[at] == mine[at]) at++;
                    Assert.Fail($"{info.Name} row {r}: first differing byte {at} (llama.cpp {q.Row(r)[at]}, Sieve {mine[at]})");
                }
            }
        }
    }

    [Theory, MemberData(nameof(Types))]
    public void QuantizedDotProductsMatchF32WithinGgmlTolerance(string type)
    {
        using var quant = GgufFile.Open(Fixtures.TinyK(type));
        var rng = new Random(11);
        foreach (var info in quant.Tensors.Where(t => t.Dims.Length == 2).Take(6))
        {
            var w = quant.View(info);
            var dotType = TypeTraits.Of(w.Type).VecDotType;
            int n = w.Cols;
            var x = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            var xq = new byte[TypeTraits.Of(dotType).RowBytes(n)];
            if (dotType == GgmlType.F32) System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()).CopyTo(xq);
            else Quantize.Row(dotType, x, xq);
            var wf = new float[n];
            float tolerance = w.Type is GgmlType.Q4_0 or GgmlType.Q4_K ? MaxDotProductErrorLowBit : MaxDotProductError;
            for (int r = 0; r < Math.Min(w.Rows, 64); r++)
            {
                Dequantize.Row(w.Type, w.Row(r), wf);
                double reference = 0;
                for (int i = 0; i < n; i++) reference += wf[i] * x[i];
                fixed (byte* px = xq)
                {
                    float simd = VecDot.Dot(w.Type, w.RowPointer(r), px, n);
                    float scalar = VecDot.DotScalar(w.Type, w.RowPointer(r), px, n);
                    Assert.True(Math.Abs(simd - reference) / n < tolerance, $"{info.Name} row {r}: {simd} vs {reference}");
                    Assert.Equal(scalar, simd, Math.Max(1e-4f, Math.Abs(scalar) * 1e-5f));
                }
            }
        }
    }
}
