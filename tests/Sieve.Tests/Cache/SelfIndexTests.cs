using Sieve.Cache;
using Sieve.Cache.SelfIndexing;
using Sieve.Kernels;
using Sieve.Models;

namespace Sieve.Tests.Cache;

public class SelfIndexTests
{
    static float[] Gaussian(Random rng, int n, float scale = 1f, float shift = 0f) =>
        Enumerable.Range(0, n).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble())) * scale + shift).ToArray();

    static float Half16(float x) => (float)(Half)x;

    /// <summary>
    /// Method notes §1.3 steps 1 and 3–6, written out independently: centre by the lower median, normalise by the
    /// per-channel max |k̃| over the compressed tokens, 2-bit magnitude and value codes per 32 channels (round half
    /// away from zero), F16 parameters, reconstruction ±(zp + c·scale)·a and zp + c·scale.
    /// </summary>
    static (float[] Keys, float[] Values) Reference(float[] keys, float[] values, int n, int hd)
    {
        var m = new float[hd];
        for (int j = 0; j < hd; j++) m[j] = Enumerable.Range(0, n).Select(t => keys[t * hd + j]).Order().ElementAt((n - 1) / 2);
        var c = new float[n * hd];
        for (int i = 0; i < c.Length; i++) c[i] = keys[i] - m[i % hd];
        var a = new float[hd];
        for (int j = 0; j < hd; j++) a[j] = Enumerable.Range(0, n).Max(t => Math.Abs(c[t * hd + j]));
        var kOut = new float[n * hd];
        var vOut = new float[n * hd];
        for (int t = 0; t < n; t++)
            for (int g = 0; g < hd; g += 32)
            {
                int end = Math.Min(hd, g + 32);
                var mag = Enumerable.Range(g, end - g).Select(j => Math.Abs(c[t * hd + j] / a[j])).ToArray();
                var val = Enumerable.Range(g, end - g).Select(j => values[t * hd + j]).ToArray();
                Reconstruct(mag, out var km);
                Reconstruct(val, out var vm);
                for (int j = g; j < end; j++)
                {
                    kOut[t * hd + j] = (c[t * hd + j] / a[j] > 0 ? km[j - g] : -km[j - g]) * a[j];
                    vOut[t * hd + j] = vm[j - g];
                }
            }
        return (kOut, vOut);

        static void Reconstruct(float[] x, out float[] r)
        {
            float lo = x.Min(), scale = (x.Max() - lo) / 3;
            r = x.Select(v => Half16(lo) + (scale > 0 ? Math.Clamp(MathF.Round((v - lo) / scale, MidpointRounding.AwayFromZero), 0, 3) : 0) * Half16(scale)).ToArray();
        }
    }

    [Theory]
    [InlineData(128, 200)]
    [InlineData(64, 97)]
    [InlineData(8, 33)]
    [InlineData(6, 20)]
    public void KeyAndValueCodesRoundTripAsTheReferenceQuantises(int hd, int n)
    {
        var rng = new Random(hd * 1000 + n);
        var keys = Gaussian(rng, n * hd, 1.5f, 0.3f);
        var values = Gaussian(rng, n * hd);
        var head = SelfIndexHead.Compress(keys, values, hd, n, hd, default, denseSize: 0, slotCapacity: n);
        var (refK, refV) = Reference(keys, values, n, hd);
        var k = new float[hd];
        var v = new float[hd];
        for (int t = 0; t < n; t++)
        {
            head.DecodeKey(t, k);
            head.DecodeValue(t, v);
            for (int j = 0; j < hd; j++)
            {
                Assert.Equal(refK[t * hd + j], k[j], 5);
                Assert.Equal(refV[t * hd + j], v[j], 5);
            }
        }
        // The lower median of every channel.
        for (int j = 0; j < hd; j++)
            Assert.Equal(Enumerable.Range(0, n).Select(t => keys[t * hd + j]).Order().ElementAt((n - 1) / 2), head.Median[j]);
    }

    [Fact]
    public void TableScoresEqualTheReferenceSumExactlyAndCentroidsAreBucketMeans()
    {
        const int hd = 128, n = 300;
        var rng = new Random(7);
        var keys = Gaussian(rng, n * hd, 1f, 0.5f);
        var values = Gaussian(rng, n * hd);
        var query = Gaussian(rng, hd);
        var head = SelfIndexHead.Compress(keys, values, hd, n, hd, query, denseSize: 64, slotCapacity: n);
        Assert.Equal(n - 64, head.Count);

        // Centroids: mean centred sub-vector per (group, code) over the compressed tokens, recomputed here.
        var sums = new double[32 * 16 * 4];
        var counts = new int[32 * 16];
        var dense = head.DensePositions.ToHashSet();
        for (int t = 0; t < n; t++)
        {
            if (dense.Contains(t)) continue;
            for (int g = 0; g < 32; g++)
            {
                int code = 0;
                for (int r = 0; r < 4; r++) if (keys[t * hd + 4 * g + r] - head.Median[4 * g + r] > 0) code |= 1 << r;
                counts[g * 16 + code]++;
                for (int r = 0; r < 4; r++) sums[(g * 16 + code) * 4 + r] += keys[t * hd + 4 * g + r] - head.Median[4 * g + r];
            }
        }
        for (int i = 0; i < counts.Length; i++)
            if (counts[i] > 0)
                for (int r = 0; r < 4; r++) Assert.Equal(sums[i * 4 + r] / counts[i], head.Centroids[i * 4 + r], 1e-5);

        // Table scores: Σ_g T[16g + code_g(t)] in group order, T from the centroids — SIMD and scalar, bit for bit.
        var lut = new float[32 * 16];
        head.BuildLut(query, lut);
        var simd = new float[(head.Count + 15) / 16 * 16];
        var scalar = new float[simd.Length];
        unsafe
        {
            fixed (float* a = simd, b = scalar)
            {
                head.ScoreLut(lut, head.Count, a);
                head.ScoreLut(lut, head.Count, b, scalar: true);
            }
        }
        for (int t = 0; t < head.Count; t++)
        {
            float expected = 0;
            for (int g = 0; g < 32; g++) expected += lut[g * 16 + SignCodes.Code(head.SignBlocks, head.CodeBytes, t, g)];
            Assert.Equal(expected, simd[t]);
            Assert.Equal(expected, scalar[t]);
            // The same score as the dot product of the query with the token's centroid reconstruction, up to float order.
            double viaCentroids = 0;
            for (int g = 0; g < 32; g++)
            {
                int code = SignCodes.Code(head.SignBlocks, head.CodeBytes, t, g);
                for (int r = 0; r < 4; r++) viaCentroids += head.Centroids[(g * 16 + code) * 4 + r] * (double)query[4 * g + r];
            }
            Assert.Equal(viaCentroids, simd[t], 1e-3);
        }
    }

    [Fact]
    public void HammingScoresCountAgreeingSigns()
    {
        const int hd = 128, n = 64;
        var rng = new Random(3);
        var keys = Gaussian(rng, n * hd);
        var head = SelfIndexHead.Compress(keys, Gaussian(rng, n * hd), hd, n, hd, default, denseSize: 0, slotCapacity: n);
        var qbits = new byte[16];
        rng.NextBytes(qbits);
        var simd = new int[n];
        var scalar = new int[n];
        unsafe
        {
            fixed (int* a = simd, b = scalar)
            {
                head.ScoreHamming(qbits, n, a);
                head.ScoreHamming(qbits, n, b, scalar: true);
            }
        }
        Assert.Equal(scalar, simd);
        for (int t = 0; t < n; t++)
        {
            int agree = 0;
            for (int j = 0; j < hd; j++)
                agree += (keys[t * hd + j] - head.Median[j] > 0) == (((qbits[j >> 3] >> (j & 7)) & 1) != 0) ? 1 : -1;
            Assert.Equal(agree, simd[t]);
        }
    }

    [Theory]
    [InlineData(8, 3)]
    [InlineData(6, 5)]
    [InlineData(4, 2)]
    public void EmptyCentroidBucketsAndOddHeadSizesStayFinite(int hd, int n)
    {
        var rng = new Random(hd + n);
        var keys = Gaussian(rng, n * hd);
        var head = SelfIndexHead.Compress(keys, Gaussian(rng, n * hd), hd, n, hd, Gaussian(rng, hd), denseSize: 1, slotCapacity: n + 4);
        Assert.All(head.Centroids, c => Assert.True(float.IsFinite(c)));
        // Fewer tokens than codes: some buckets are empty and hold ± the channel's mean |k̃| instead of NaN.
        int groups = SignCodes.Groups(hd);
        Assert.Contains(Enumerable.Range(0, groups * 16), i => head.Centroids[i * 4] != 0);
        var lut = new float[groups * 16];
        head.BuildLut(Gaussian(rng, hd), lut);
        Assert.All(lut, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void MedianCentringLeavesDenseAttentionUnchanged()
    {
        // q·(k − m) = q·k − q·m, the same shift for every token, so the softmax and the output do not move.
        const int hd = 64, n = 500;
        var rng = new Random(11);
        var keys = Gaussian(rng, n * hd, 1f, 2f);
        var values = Gaussian(rng, n * hd);
        var q = Gaussian(rng, hd, 0.5f);
        var head = SelfIndexHead.Compress(keys, values, hd, n, hd, default, denseSize: 0, slotCapacity: n);
        var centred = keys.Select((k, i) => k - head.Median[i % hd]).ToArray();
        var a = new float[hd];
        var b = new float[hd];
        var p = new float[n];
        unsafe
        {
            fixed (float* pq = q, pk = keys, pc = centred, pv = values, pp = p, pa = a, pb = b)
            {
                Attention.Scores(pq, pk, hd, n, hd, 0.125f, pp);
                Softmax.Apply(p);
                Attention.WeightedSum(pp, pv, hd, n, hd, pa);
                Attention.Scores(pq, pc, hd, n, hd, 0.125f, pp);
                Softmax.Apply(p);
                Attention.WeightedSum(pp, pv, hd, n, hd, pb);
            }
        }
        for (int j = 0; j < hd; j++) Assert.Equal(a[j], b[j], 1e-5);
    }

    [Theory]
    [InlineData(128, 112)]
    [InlineData(64, 56)]
    public void BytesPerTokenPerHeadMatchTheMethodsAccounting(int hd, double expected)
    {
        // 16 B of sign bits + 2×32 B of 2-bit codes + 32 B of F16 group parameters at head dim 128, against 512 B for F16 K+V.
        var shape = new KvCacheShape(Layers: 2, Heads: 4, KvHeads: 2, HeadDim: hd, Capacity: 64 + 256);
        var cache = new SelfIndexKvCache(shape, new SelfIndexOptions());
        var rng = new Random(1);
        int prompt = 200;
        for (int l = 0; l < 2; l++)
        {
            cache.Append(l, ForwardStage.Prefill, 0, prompt, Gaussian(rng, prompt * shape.KvDim), Gaussian(rng, prompt * shape.KvDim));
            cache.Attend(l, ForwardStage.Prefill, 0, prompt, Gaussian(rng, prompt * 4 * hd), new float[prompt * 4 * hd]);
            cache.Append(l, ForwardStage.Decode, prompt, 1, Gaussian(rng, shape.KvDim), Gaussian(rng, shape.KvDim));
        }
        var memory = cache.Memory;
        Assert.Equal(expected, memory.BytesPerTokenPerHead, 6);
        Assert.True(memory.BytesPerTokenPerHead * 4 <= 2 * hd * sizeof(ushort), "at most a quarter of F16 K+V");
    }
}
