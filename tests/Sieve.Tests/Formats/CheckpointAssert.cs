using Sieve.Formats;
using Sieve.Models;
using Sieve.Tensors;

namespace Sieve.Tests.Formats;

/// <summary>Comparisons of loaded weights shared by the format tests.</summary>
static class CheckpointAssert
{
    public static unsafe byte[] Bytes(WeightTensor t) => new ReadOnlySpan<byte>(t.Data, checked((int)t.ByteLength)).ToArray();

    public static void SameBytes(WeightTensor expected, WeightTensor actual)
    {
        Assert.Equal((expected.Rows, expected.Cols, expected.Type), (actual.Rows, actual.Cols, actual.Type));
        Assert.True(Bytes(expected).AsSpan().SequenceEqual(Bytes(actual)), $"tensor '{actual.Name}' differs from '{expected.Name}'");
    }

    /// <summary>Every tensor and vector byte-identical (Q/K compared as stored).</summary>
    public static void SameWeights(ModelWeights a, ModelWeights b, bool compareQk = true)
    {
        SameBytes(a.TokenEmbedding, b.TokenEmbedding);
        SameBytes(a.Output, b.Output);
        Assert.Equal(a.OutputNorm, b.OutputNorm);
        Assert.Equal(a.Layers.Length, b.Layers.Length);
        for (int i = 0; i < a.Layers.Length; i++)
        {
            var x = a.Layers[i]; var y = b.Layers[i];
            Assert.Equal(x.AttnNorm, y.AttnNorm);
            Assert.Equal(x.FfnNorm, y.FfnNorm);
            if (compareQk) { SameBytes(x.Wq, y.Wq); SameBytes(x.Wk, y.Wk); }
            SameBytes(x.Wv, y.Wv); SameBytes(x.Wo, y.Wo);
            SameBytes(x.Gate, y.Gate); SameBytes(x.Up, y.Up); SameBytes(x.Down, y.Down);
            Assert.Equal(x.Bq, y.Bq); Assert.Equal(x.Bk, y.Bk); Assert.Equal(x.Bv, y.Bv);
            Assert.Equal(x.QNorm, y.QNorm); Assert.Equal(x.KNorm, y.KNorm);
        }
    }

    /// <summary>The shape numbers only (vocab, layers, heads...), ignoring style and notes.</summary>
    public static void SameShape(ModelConfig a, ModelConfig b)
    {
        Assert.Equal((a.Architecture, a.Dim, a.LayerCount, a.HeadCount, a.KvHeadCount, a.HeadDim, a.FfnDim, a.VocabSize),
                     (b.Architecture, b.Dim, b.LayerCount, b.HeadCount, b.KvHeadCount, b.HeadDim, b.FfnDim, b.VocabSize));
        Assert.Equal((a.NormEps, a.RopeTheta, a.RopeDim, a.QkvBias, a.QkNorm), (b.NormEps, b.RopeTheta, b.RopeDim, b.QkvBias, b.QkNorm));
    }
}
