using Sieve.Kernels;

namespace Sieve.Tests.Kernels;

public unsafe class AttentionKernelTests
{
    const float Tolerance = 1e-4f;

    [Theory]
    [InlineData(8, 1)] [InlineData(8, 13)] [InlineData(16, 5)] [InlineData(64, 1)] [InlineData(64, 37)]
    [InlineData(128, 9)] [InlineData(6, 4)] [InlineData(80, 3)]
    public void ScoresAndWeightedSumMatchScalar(int headDim, int count)
    {
        int stride = headDim * 3;   // several KV heads per cached row, as in a real cache
        var rng = new Random(headDim * 100 + count);
        float[] q = Enumerable.Range(0, headDim).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        float[] kv = Enumerable.Range(0, stride * count).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        float[] p = Enumerable.Range(0, count).Select(_ => (float)rng.NextDouble()).ToArray();
        var s1 = new float[count]; var s2 = new float[count];
        var o1 = new float[headDim]; var o2 = new float[headDim];
        fixed (float* pq = q, pk = kv, pp = p, ps1 = s1, ps2 = s2, po1 = o1, po2 = o2)
        {
            Attention.ScoresScalar(pq, pk + headDim, stride, count, headDim, 0.125f, ps1);
            Attention.Scores(pq, pk + headDim, stride, count, headDim, 0.125f, ps2);
            Attention.WeightedSumScalar(pp, pk + 2 * headDim, stride, count, headDim, po1);
            Attention.WeightedSum(pp, pk + 2 * headDim, stride, count, headDim, po2);
        }
        for (int i = 0; i < count; i++) Assert.Equal(s1[i], s2[i], Tolerance);
        for (int i = 0; i < headDim; i++) Assert.Equal(o1[i], o2[i], Tolerance);
    }

    [RequiresAvx2PathFact]
    public void TheHeadDim64PathsSumInTheOrderOfTheGeneralEightWidePath()
    {
        // The 64-wide AVX2 paths only interleave independent chains (four tokens' scores, eight output slices), so
        // each score and each output lane must keep the bits of one FMA chain over 8-float slices.
        const int hd = 64, count = 23, stride = 3 * hd;
        var rng = new Random(64);
        float[] q = Enumerable.Range(0, hd).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        float[] kv = Enumerable.Range(0, stride * count).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        float[] p = Enumerable.Range(0, count).Select(_ => (float)rng.NextDouble()).ToArray();
        var scores = new float[count];
        var output = new float[hd];
        fixed (float* pq = q, pk = kv, pp = p, ps = scores, po = output)
        {
            Attention.Scores(pq, pk, stride, count, hd, 0.125f, ps);
            Attention.WeightedSum(pp, pk, stride, count, hd, po);
            for (int t = 0; t < count; t++)
            {
                var acc = System.Runtime.Intrinsics.Vector256<float>.Zero;
                for (int d = 0; d < hd; d += 8)
                    acc = System.Runtime.Intrinsics.Vector256.FusedMultiplyAdd(System.Runtime.Intrinsics.Vector256.Load(pq + d),
                        System.Runtime.Intrinsics.Vector256.Load(pk + (long)t * stride + d), acc);
                Assert.Equal(BitConverter.SingleToInt32Bits(System.Runtime.Intrinsics.Vector256.Sum(acc) * 0.125f), BitConverter.SingleToInt32Bits(scores[t]));
            }
            for (int d = 0; d < hd; d++)
            {
                float acc = 0;
                for (int t = 0; t < count; t++) acc = MathF.FusedMultiplyAdd(p[t], kv[t * stride + d], acc);
                Assert.Equal(BitConverter.SingleToInt32Bits(acc), BitConverter.SingleToInt32Bits(output[d]));
            }
        }
    }
}
