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
}
