using System.Text.Json;
using Sieve.Models;
using Sieve.Tensors;

namespace Sieve.Tests.Pop;

/// <summary>stories260K's oracle texts as calibration, and the model with one layer's residual branch zeroed.</summary>
static class PopFixtures
{
    /// <summary>BOS and the 199 tokens llama2.c generates greedily (the first oracle case).</summary>
    public static int[] GreedyTokens()
    {
        var c = JsonDocument.Parse(File.ReadAllText(Fixtures.Oracles)).RootElement.GetProperty("cases")[0];
        return [1, .. c.GetProperty("token_ids_after_bos").EnumerateArray().Select(e => e.GetInt32())];
    }

    /// <summary>Every oracle case's text, one after another (about 1,700 characters).</summary>
    public static string OracleText() => string.Join("\n",
        JsonDocument.Parse(File.ReadAllText(Fixtures.Oracles)).RootElement.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("expected_text").GetString()));

    /// <summary>
    /// The model with layer <paramref name="layer"/>'s Wo and down projection zero: F_l(h) = 0, so that block adds
    /// nothing in either stage while its K/V (and everything else) are the model's.
    /// </summary>
    public static Transformer WithDeadBranch(SieveModel m, int layer)
    {
        var w = m.Checkpoint.Weights;
        var layers = w.Layers.ToArray();
        var l = layers[layer];
        static WeightTensor Zero(WeightTensor t) => WeightTensor.FromFloat32(t.Name, new float[t.Rows * t.Cols], t.Rows, t.Cols);
        layers[layer] = new LayerWeights
        {
            AttnNorm = l.AttnNorm, Wq = l.Wq, Wk = l.Wk, Wv = l.Wv, Wo = Zero(l.Wo), Bq = l.Bq, Bk = l.Bk, Bv = l.Bv,
            QNorm = l.QNorm, KNorm = l.KNorm, PostAttnNorm = l.PostAttnNorm, FfnNorm = l.FfnNorm, PostFfnNorm = l.PostFfnNorm,
            Gate = l.Gate, Up = l.Up, Down = Zero(l.Down),
        };
        return new Transformer(m.Config, new ModelWeights { TokenEmbedding = w.TokenEmbedding, Layers = layers, OutputNorm = w.OutputNorm, Output = w.Output });
    }
}
