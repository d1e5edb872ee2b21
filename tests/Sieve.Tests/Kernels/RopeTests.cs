using Sieve.Kernels;
using Sieve.Models;

namespace Sieve.Tests.Kernels;

public class RopeTests
{
    static ModelConfig Config(RopeStyle style, int headDim = 8, float theta = 10000f, RopeScaling? scaling = null) => new()
    {
        Architecture = "llama", Dim = 16, LayerCount = 1, HeadCount = 2, KvHeadCount = 2, HeadDim = headDim, FfnDim = 4,
        VocabSize = 4, ContextLength = 64, RopeDim = headDim, RopeStyle = style, RopeTheta = theta, RopeScaling = scaling,
    };

    [Fact]
    public void InterleavedMatchesLlama2cFormula()
    {
        var x = Enumerable.Range(0, 16).Select(i => (float)Math.Sin(i + 1)).ToArray();
        var expected = (float[])x.Clone();
        int pos = 5, headSize = 8;
        for (int i = 0; i < 16; i += 2)
        {
            int headDim = i % headSize;
            float freq = 1.0f / MathF.Pow(10000.0f, headDim / (float)headSize);
            float val = pos * freq, fcr = MathF.Cos(val), fci = MathF.Sin(val);
            float v0 = expected[i], v1 = expected[i + 1];
            expected[i] = v0 * fcr - v1 * fci;
            expected[i + 1] = v0 * fci + v1 * fcr;
        }
        new Rope(Config(RopeStyle.Interleaved)).Apply(x, 2, pos);
        Assert.Equal(expected, x);
    }

    [Fact]
    public void NeoxEqualsInterleavedUnderTheHalfPermutation()
    {
        // Rotate-half on [a0..a3, b0..b3] equals adjacent-pair RoPE on [a0,b0,a1,b1,...]: the permutation that
        // GGUF conversion applies to Q/K rows. This is why one model gives the same logits from either file.
        var rng = new Random(3);
        var neox = Enumerable.Range(0, 8).Select(_ => (float)rng.NextDouble()).ToArray();
        var inter = new float[8];
        for (int i = 0; i < 4; i++) { inter[2 * i] = neox[i]; inter[2 * i + 1] = neox[i + 4]; }
        new Rope(Config(RopeStyle.Neox) with { HeadCount = 1, KvHeadCount = 1 }).Apply(neox, 1, 17);
        new Rope(Config(RopeStyle.Interleaved) with { HeadCount = 1, KvHeadCount = 1 }).Apply(inter, 1, 17);
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(neox[i], inter[2 * i], 6);
            Assert.Equal(neox[i + 4], inter[2 * i + 1], 6);
        }
    }

    [Fact]
    public void PositionZeroIsIdentity()
    {
        var x = Enumerable.Range(0, 16).Select(i => i * 0.1f).ToArray();
        var y = (float[])x.Clone();
        new Rope(Config(RopeStyle.Neox)).Apply(y, 2, 0);
        Assert.Equal(x, y);
    }

    [Fact]
    public void Llama3ScalingKeepsHighFrequenciesAndSlowsLowOnes()
    {
        // With head dim 128 and theta 500000, the first pair's wavelength (2π) is far below 8192/4 and is kept;
        // the last pair's is far above 8192/1 and is divided by the factor 8.
        var scaling = new RopeScaling(8, 1, 4, 8192);
        var plain = new Rope(Config(RopeStyle.Neox, 128, 500000f) with { HeadCount = 1, KvHeadCount = 1 });
        var scaled = new Rope(Config(RopeStyle.Neox, 128, 500000f, scaling) with { HeadCount = 1, KvHeadCount = 1 });
        int pos = 1000;
        var a = new float[128]; var b = new float[128];
        a[0] = b[0] = 1; a[63] = b[63] = 1;   // first pair (0, 64) and last pair (63, 127)
        plain.Apply(a, 1, pos); scaled.Apply(b, 1, pos);
        Assert.Equal(a[0], b[0], 6);
        Assert.Equal(a[64], b[64], 6);
        float lastFreq = 1f / MathF.Pow(500000f, 126f / 128f);
        Assert.Equal(MathF.Cos(pos * lastFreq / 8), b[63], 4);
    }

    [Theory]
    [InlineData(RopeStyle.Interleaved, false)]
    [InlineData(RopeStyle.Neox, false)]
    [InlineData(RopeStyle.Neox, true)]
    public void TheInverseUndoesTheRotationAndComposesToADistance(RopeStyle style, bool llama3)
    {
        // A²ATS's windowed RoPE: R_W·R_−m·(R_m q) = R_W q, and R_−n(R_n k) = k, from the same tables.
        var rope = new Rope(Config(style, headDim: 16, scaling: llama3 ? new RopeScaling(8, 1, 4, 8192) : null));
        var rng = new Random(7);
        var x = Enumerable.Range(0, 32).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        foreach (int pos in new[] { 0, 1, 63, 2048, 30000 })
        {
            var y = (float[])x.Clone();
            rope.Apply(y, 2, pos);
            rope.ApplyInverse(y, 2, pos);
            for (int i = 0; i < x.Length; i++) Assert.Equal(x[i], y[i], 1e-5);
            var viaInverse = (float[])x.Clone();
            rope.Apply(viaInverse, 2, pos);
            rope.ApplyInverse(viaInverse, 2, pos);
            rope.Apply(viaInverse, 2, 2048);
            var direct = (float[])x.Clone();
            rope.Apply(direct, 2, 2048);
            for (int i = 0; i < x.Length; i++) Assert.Equal(direct[i], viaInverse[i], 1e-5);
        }
    }
}
