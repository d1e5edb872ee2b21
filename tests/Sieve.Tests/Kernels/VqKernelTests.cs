using Sieve.Kernels;

namespace Sieve.Tests.Kernels;

public unsafe class VqKernelTests
{
    static float[] Values(Random rng, int n, float scale = 1f) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();

    static (float[] Packed, float[] Norms) Packed(float[] rows, int k, int d)
    {
        var packed = new float[VqKernels.PackedLength(k, d)];
        var norms = new float[VqKernels.PaddedCount(k)];
        VqKernels.Pack(rows, k, d, packed);
        VqKernels.Norms(packed, k, d, norms);
        return (packed, norms);
    }

    public static IEnumerable<object[]> Shapes() =>
        from n in new[] { 0, 1, 3, 4, 5, 63, 64, 65, 130 }
        from k in new[] { 1, 15, 16, 17, 100, 300 }
        from d in new[] { 1, 3, 8, 64 }
        where n * k * d < 3_000_000
        select new object[] { n, k, d };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void NearestEqualsItsScalarTwinBitForBit(int n, int k, int d)
    {
        var rng = new Random(n * 1000 + k * 10 + d);
        int stride = d + 2;
        var x = Values(rng, Math.Max(1, n * stride), 2f);
        var c = Values(rng, k * d);
        // Duplicate centroids (ties must go to the lower index in both) and a row equal to a centroid.
        if (k > 20) { c.AsSpan(3 * d, d).CopyTo(c.AsSpan(17 * d)); c.AsSpan(5 * d, d).CopyTo(c.AsSpan(19 * d)); }
        if (n > 2) c.AsSpan(0, d).CopyTo(x.AsSpan(2 * stride));
        var (packed, norms) = Packed(c, k, d);
        var c1 = new int[n + 1]; var c2 = new int[n + 1];
        var b1 = new float[n + 1]; var b2 = new float[n + 1];
        fixed (float* px = x, pp = packed, pn = norms, pb1 = b1, pb2 = b2)
        fixed (int* pc1 = c1, pc2 = c2)
        {
            VqKernels.NearestScalar(px, n, stride, d, pp, pn, k, pc1, pb1);
            VqKernels.Nearest(px, n, stride, d, pp, pn, k, pc2, pb2);
        }
        Assert.Equal(c1, c2);
        Assert.Equal(b1, b2);
        // Against the definition in double: the chosen centroid is (within float rounding) the nearest.
        for (int r = 0; r < n; r++)
        {
            var dist = new double[k];
            for (int j = 0; j < k; j++) dist[j] = Cache.A2ats.A2atsTestData.SquaredDistance(x.AsSpan(r * stride, d), c.AsSpan(j * d, d));
            double min = dist.Min();
            Assert.True(dist[c2[r]] <= min + 1e-5 * (1 + min), $"row {r}: picked {c2[r]} at {dist[c2[r]]}, nearest {Array.IndexOf(dist, min)} at {min}");
        }
    }

    [Fact]
    public void NearestHandlesNonFiniteValuesLikeItsTwin()
    {
        var rng = new Random(3);
        int n = 9, k = 40, d = 8;
        var x = Values(rng, n * d);
        x[0] = float.NaN; x[d + 1] = float.PositiveInfinity; x[2 * d + 2] = float.NegativeInfinity; x[3 * d] = 3e38f;
        var c = Values(rng, k * d);
        c[5 * d] = float.NaN; c[7 * d + 3] = float.PositiveInfinity;
        var (packed, norms) = Packed(c, k, d);
        var c1 = new int[n]; var c2 = new int[n]; var b1 = new float[n]; var b2 = new float[n];
        fixed (float* px = x, pp = packed, pn = norms, pb1 = b1, pb2 = b2)
        fixed (int* pc1 = c1, pc2 = c2)
        {
            VqKernels.NearestScalar(px, n, d, d, pp, pn, k, pc1, pb1);
            VqKernels.Nearest(px, n, d, d, pp, pn, k, pc2, pb2);
        }
        Assert.Equal(c1, c2);
        Assert.Equal(b1, b2);
        Assert.Equal(0, c2[0]);   // a NaN row: every score NaN, code 0
        Assert.True(float.IsPositiveInfinity(b2[0]));
    }

    [Theory]
    [InlineData(1, 1, 4)]
    [InlineData(1, 4096, 64)]
    [InlineData(3, 17, 8)]
    [InlineData(4, 100, 64)]
    [InlineData(5, 33, 128)]
    [InlineData(8, 16, 3)]
    public void DotsEqualTheirScalarTwinAndTheDenseProduct(int count, int k, int d)
    {
        var rng = new Random(count + k + d);
        int stride = d + 1, outStride = k + 5;
        var q = Values(rng, count * stride, 3f);
        var c = Values(rng, k * d);
        var (packed, _) = Packed(c, k, d);
        var o1 = new float[count * outStride]; var o2 = new float[count * outStride];
        Array.Fill(o1, 7f); Array.Fill(o2, 7f);
        float scale = 1f / MathF.Sqrt(d);
        fixed (float* pq = q, pp = packed, p1 = o1, p2 = o2)
        {
            VqKernels.DotsScalar(pq, count, stride, d, pp, k, scale, p1, outStride);
            VqKernels.Dots(pq, count, stride, d, pp, k, scale, p2, outStride);
        }
        Assert.Equal(o1, o2);
        for (int g = 0; g < count; g++)
        {
            for (int j = 0; j < k; j++)
            {
                double want = Cache.A2ats.A2atsTestData.Dot(q.AsSpan(g * stride, d), c.AsSpan(j * d, d)) / Math.Sqrt(d);
                Assert.True(Math.Abs(o2[g * outStride + j] - want) <= 1e-5 * (1 + Math.Abs(want)) * Math.Sqrt(d), $"query {g} centroid {j}");
            }
            for (int j = k; j < outStride; j++) Assert.Equal(7f, o2[g * outStride + j]);   // nothing past K
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GatherEqualsItsScalarTwin(bool hardwareGather)
    {
        var rng = new Random(1);
        var lut = Values(rng, 4096);
        lut[0] = float.NaN; lut[1] = float.NegativeInfinity;
        bool saved = VqKernels.UseHardwareGather;
        try
        {
            VqKernels.UseHardwareGather = hardwareGather && System.Runtime.Intrinsics.X86.Avx2.IsSupported;
            foreach (int n in new[] { 0, 1, 7, 8, 9, 31, 1000 })
            {
                // Codes past the table wrap through the mask, never outside it.
                var codes = Enumerable.Range(0, n).Select(_ => (ushort)rng.Next(65536)).ToArray();
                var s1 = new float[n]; var s2 = new float[n];
                fixed (float* pl = lut, p1 = s1, p2 = s2)
                fixed (ushort* pc = codes)
                {
                    VqKernels.GatherScalar(pl, 4095, pc, n, p1);
                    VqKernels.Gather(pl, 4095, pc, n, p2);
                }
                Assert.Equal(s1, s2);
                for (int i = 0; i < n; i++) Assert.Equal(lut[codes[i] & 4095], s2[i]);
            }
        }
        finally { VqKernels.UseHardwareGather = saved; }
    }
}
