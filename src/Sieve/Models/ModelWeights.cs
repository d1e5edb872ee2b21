using Sieve.Tensors;

namespace Sieve.Models;

/// <summary>All weights of a decoder, already mapped from the checkpoint's names and layout.</summary>
public sealed class ModelWeights
{
    public required WeightTensor TokenEmbedding { get; init; } // [vocab, dim]
    public required LayerWeights[] Layers { get; init; }
    public required float[] OutputNorm { get; init; }          // [dim]
    public required WeightTensor Output { get; init; }         // [vocab, dim]; the embedding itself when tied

    /// <summary>Checks every tensor against the config so a mismatched file fails at load, not mid-forward.</summary>
    public void Validate(ModelConfig c, string source)
    {
        void Shape(WeightTensor t, int rows, int cols)
        {
            if (t.Rows != rows || t.Cols != cols)
                throw new Formats.ModelFileException(source, $"tensor '{t.Name}' is [{t.Rows}, {t.Cols}] but the config needs [{rows}, {cols}]");
        }
        void Vec(float[]? v, int n, string what)
        {
            if (v != null && v.Length != n)
                throw new Formats.ModelFileException(source, $"{what} has {v.Length} values but the config needs {n}");
        }
        if (Layers.Length != c.LayerCount) throw new Formats.ModelFileException(source, $"{Layers.Length} layers found, config says {c.LayerCount}");
        Shape(TokenEmbedding, c.VocabSize, c.Dim);
        Shape(Output, c.VocabSize, c.Dim);
        Vec(OutputNorm, c.Dim, "output norm");
        for (int i = 0; i < Layers.Length; i++)
        {
            var l = Layers[i];
            Vec(l.AttnNorm, c.Dim, $"layer {i} attention norm");
            Vec(l.FfnNorm, c.Dim, $"layer {i} FFN norm");
            Vec(l.PostAttnNorm, c.Dim, $"layer {i} post-attention norm"); Vec(l.PostFfnNorm, c.Dim, $"layer {i} post-FFN norm");
            if (c.SandwichNorms && (l.PostAttnNorm == null || l.PostFfnNorm == null))
                throw new Formats.ModelFileException(source, $"layer {i} has no post-{(l.PostAttnNorm == null ? "attention" : "FFN")} norm, which {c.Architecture} needs");
            if (c.QkNorm && (l.QNorm == null || l.KNorm == null)) throw new Formats.ModelFileException(source, $"layer {i} has no Q/K norm, which {c.Architecture} needs");
            if (c.QkvBias && (l.Bq == null || l.Bk == null || l.Bv == null)) throw new Formats.ModelFileException(source, $"layer {i} has no Q/K/V biases, which {c.Architecture} needs");
            Shape(l.Wq, c.QDim, c.Dim); Shape(l.Wk, c.KvDim, c.Dim); Shape(l.Wv, c.KvDim, c.Dim); Shape(l.Wo, c.Dim, c.QDim);
            Vec(l.Bq, c.QDim, $"layer {i} q bias"); Vec(l.Bk, c.KvDim, $"layer {i} k bias"); Vec(l.Bv, c.KvDim, $"layer {i} v bias");
            Vec(l.QNorm, c.HeadDim, $"layer {i} q norm"); Vec(l.KNorm, c.HeadDim, $"layer {i} k norm");
            Shape(l.Gate, c.FfnDim, c.Dim); Shape(l.Up, c.FfnDim, c.Dim); Shape(l.Down, c.Dim, c.FfnDim);
        }
    }
}
