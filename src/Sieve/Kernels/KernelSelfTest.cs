using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Sieve.Kernels.Quant;
using Sieve.Tensors;

namespace Sieve.Kernels;

/// <summary>
/// Every SIMD kernel against its scalar twin, runnable in any process. The test suite runs it in child processes
/// with AVX-512, AVX2 or all hardware intrinsics disabled (DOTNET_EnableAVX512F=0 …), so each instruction-set
/// path is exercised on the one machine we have.
/// </summary>
public static unsafe class KernelSelfTest
{
    /// <summary>Which paths the JIT will take in this process.</summary>
    public static string InstructionSets =>
        $"Vector512 {Vector512.IsHardwareAccelerated}, AVX-512F {Avx512F.IsSupported}, AVX2 {Avx2.IsSupported}, " +
        $"AVX-VNNI {AvxVnni.IsSupported}, Vector256 {Vector256.IsHardwareAccelerated}";

    /// <summary>Runs all checks; returns the failures (empty when all pass).</summary>
    public static List<string> Run()
    {
        var failures = new List<string>();
        var rng = new Random(5);
        float[] Values(int n, float scale = 1f) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();
        void Check(bool ok, string what) { if (!ok) failures.Add(what); }
        static bool Close(float a, float b, float tol) => MathF.Abs(a - b) <= tol * MathF.Max(1, MathF.Abs(a));

        foreach (int blocks in new[] { 0, 1, 2, 3, 5, 8, 17 })
        {
            int n = blocks * 32;
            var x = Values(n, 3f);
            var w = Values(n, 0.1f);
            var q8 = new byte[blocks * BlockQ8_0.Bytes];
            var q8w = new byte[blocks * BlockQ8_0.Bytes];
            var q4w = new byte[blocks * BlockQ4_0.Bytes];
            Quantize.Row(GgmlType.Q8_0, x, q8);
            Quantize.Row(GgmlType.Q8_0, w, q8w);
            Quantize.Row(GgmlType.Q4_0, w, q4w);
            var scalarQ8 = new byte[q8.Length];
            fixed (float* px = x) fixed (byte* ps = scalarQ8) BlockQ8_0.QuantizeScalar(px, ps, n);
            Check(q8.AsSpan().SequenceEqual(scalarQ8), $"Q8_0 quantize, {blocks} blocks");
            fixed (byte* px = q8) fixed (byte* pw = q8w) fixed (byte* p4 = q4w)
            {
                Check(Close(BlockQ8_0.DotScalar(pw, px, n), BlockQ8_0.Dot(pw, px, n), 1e-5f), $"Q8_0 dot, {blocks} blocks");
                Check(Close(BlockQ4_0.DotScalar(p4, px, n), BlockQ4_0.Dot(p4, px, n), 1e-5f), $"Q4_0 dot, {blocks} blocks");
            }
            var f16 = new byte[n * 2];
            Quantize.Row(GgmlType.F16, w, f16);
            fixed (byte* pw = f16) fixed (float* px = x)
                Check(Close(VecDot.DotScalar(GgmlType.F16, pw, (byte*)px, n), VecDot.Dot(GgmlType.F16, pw, (byte*)px, n), 1e-4f), $"F16 dot, {n}");
        }
        foreach (int blocks in new[] { 1, 2, 3 })
        {
            int n = blocks * 256;
            var x = Values(n);
            var q8k = new byte[blocks * BlockQ8_K.Bytes];
            Quantize.Row(GgmlType.Q8_K, x, q8k);
            // Arbitrary bytes are valid K-quant blocks once their f16 scales are made finite.
            var q4k = new byte[blocks * BlockQ4_K.Bytes];
            var q6k = new byte[blocks * BlockQ6_K.Bytes];
            rng.NextBytes(q4k); rng.NextBytes(q6k);
            fixed (byte* p4 = q4k) fixed (byte* p6 = q6k)
                for (int b = 0; b < blocks; b++)
                {
                    *(Half*)(p4 + b * BlockQ4_K.Bytes) = (Half)0.01f;
                    *(Half*)(p4 + b * BlockQ4_K.Bytes + 2) = (Half)0.002f;
                    *(Half*)(p6 + b * BlockQ6_K.Bytes + 208) = (Half)0.01f;
                }
            fixed (byte* px = q8k) fixed (byte* p4 = q4k) fixed (byte* p6 = q6k)
            {
                Check(Close(BlockQ4_K.DotScalar(p4, px, n), BlockQ4_K.Dot(p4, px, n), 1e-4f), $"Q4_K dot, {blocks} blocks");
                Check(Close(BlockQ6_K.DotScalar(p6, px, n), BlockQ6_K.Dot(p6, px, n), 1e-4f), $"Q6_K dot, {blocks} blocks");
            }
        }
        foreach (int n in new[] { 1, 7, 16, 33, 64, 100, 1000 })
        {
            var x = Values(n, 4f);
            var w = Values(n);
            var a = new float[n]; var b = new float[n];
            RmsNorm.Scalar(x, w, 1e-5f, a); RmsNorm.Apply(x, w, 1e-5f, b);
            Check(a.Zip(b).All(p => Close(p.First, p.Second, 1e-5f)), $"RMSNorm, {n}");
            var s1 = (float[])x.Clone(); var s2 = (float[])x.Clone();
            Softmax.Scalar(s1); Softmax.Apply(s2);
            Check(s1.Zip(s2).All(p => Close(p.First, p.Second, 1e-5f)), $"softmax, {n}");
            var g1 = (float[])x.Clone(); var g2 = (float[])x.Clone();
            SwiGlu.Scalar(g1, w); SwiGlu.Apply(g2, w);
            Check(g1.Zip(g2).All(p => Close(p.First, p.Second, 1e-5f)), $"SwiGLU, {n}");
        }
        foreach (int hd in new[] { 8, 64, 128, 6 })
        {
            int count = 11, stride = hd * 2;
            var q = Values(hd); var kv = Values(stride * count); var p = Values(count);
            var o1 = new float[Math.Max(count, hd)]; var o2 = new float[Math.Max(count, hd)];
            fixed (float* pq = q, pk = kv, pp = p, p1 = o1, p2 = o2)
            {
                Attention.ScoresScalar(pq, pk, stride, count, hd, 0.5f, p1);
                Attention.Scores(pq, pk, stride, count, hd, 0.5f, p2);
                Check(o1.Zip(o2).All(t => Close(t.First, t.Second, 1e-5f)), $"attention scores, head {hd}");
                Attention.WeightedSumScalar(pp, pk, stride, count, hd, p1);
                Attention.WeightedSum(pp, pk, stride, count, hd, p2);
                Check(o1.Zip(o2).All(t => Close(t.First, t.Second, 1e-5f)), $"attention sum, head {hd}");
            }
        }
        foreach (int codeBytes in new[] { 1, 2, 3, 4, 8, 16, 20 })
        {
            // Sign-code scorers: the table scorer bit for bit, the Hamming scorer exactly.
            int blocks = 5, channels = codeBytes * 8 - (codeBytes % 2);
            var codes = new byte[blocks * SignCodes.BlockTokens * codeBytes];
            rng.NextBytes(codes);
            var lut = Values(codeBytes * 32, 2f);
            var query = new byte[codeBytes];
            rng.NextBytes(query);
            var f1 = new float[blocks * 16]; var f2 = new float[blocks * 16];
            var i1 = new int[blocks * 16]; var i2 = new int[blocks * 16];
            fixed (byte* pc = codes, pq = query) fixed (float* pl = lut, p1 = f1, p2 = f2) fixed (int* q1 = i1, q2 = i2)
            {
                SignCodes.ScoreLutScalar(pc, blocks, codeBytes, pl, p1);
                SignCodes.ScoreLut(pc, blocks, codeBytes, pl, p2);
                Check(f1.AsSpan().SequenceEqual(f2), $"sign-code table scores, {codeBytes} code bytes");
                SignCodes.ScoreHammingScalar(pc, blocks, codeBytes, pq, channels, q1);
                SignCodes.ScoreHamming(pc, blocks, codeBytes, pq, channels, q2);
                Check(i1.AsSpan().SequenceEqual(i2), $"sign-code Hamming scores, {codeBytes} code bytes");
            }
        }
        foreach (var (n, k) in new[] { (1, 1), (40, 5), (1000, 100), (5000, 64), (300, 300), (777, 1) })
        {
            // Top-K, on scores with many ties (integers), against the sorting definition.
            var scores = Enumerable.Range(0, n).Select(_ => (float)rng.Next(-20, 20)).ToArray();
            var picked = new int[k];
            int got;
            fixed (float* ps = scores) fixed (int* pp = picked) got = TopK.Select(ps, n, k, pp);
            Check(picked.Take(got).Order().SequenceEqual(TopK.SelectScalar(scores, k).Order()), $"top-{k} of {n}");
        }
        Sparse.SparseSelfTest.Run(rng, Check);
        VqKernels.SelfTest(rng, Check);
        return failures;
    }
}
