using Sieve.Models;
using Sieve.Tensors;
using Sieve.Threading;

namespace Sieve.Tests.Models;

/// <summary>
/// The engine against a deliberately naive transformer written here from the equations (double precision, no
/// SIMD, no cache tricks), on random models that exercise what stories260K cannot: rotate-half RoPE, Qwen2's QKV
/// biases, Qwen3's QK-norm, llama3 RoPE scaling, grouped-query attention with several groups.
/// </summary>
public class NaiveReferenceTests
{
    sealed record Case(string Name, RopeStyle Rope, bool Bias, bool QkNorm, RopeScaling? Scaling, int Heads, int KvHeads);

    public static IEnumerable<object[]> Cases() =>
    [
        [new Case("llama interleaved", RopeStyle.Interleaved, false, false, null, 4, 2)],
        [new Case("qwen2 neox + bias", RopeStyle.Neox, true, false, null, 4, 1)],
        [new Case("qwen3 neox + qk-norm", RopeStyle.Neox, false, true, null, 6, 2)],
        [new Case("llama3.1 scaling", RopeStyle.Neox, false, false, new RopeScaling(8, 1, 4, 16), 4, 4)],
    ];

    [Theory, MemberData(nameof(Cases))]
    public void LogitsMatchANaiveImplementation(object boxed)
    {
        var c = (Case)boxed;
        int headDim = 8, dim = 32, ffn = 48, vocab = 40, layers = 2;
        var config = new ModelConfig
        {
            Architecture = "test", Dim = dim, LayerCount = layers, HeadCount = c.Heads, KvHeadCount = c.KvHeads, HeadDim = headDim,
            RopeDim = headDim, FfnDim = ffn, VocabSize = vocab, ContextLength = 64, RopeStyle = c.Rope, RopeScaling = c.Scaling,
            QkvBias = c.Bias, QkNorm = c.QkNorm, RopeTheta = 10000f, NormEps = 1e-5f,
        };
        var rng = new Random(c.Name.Length);
        float[] R(int n, float s = 0.3f) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * s).ToArray();
        float[] Norm(int n) => Enumerable.Range(0, n).Select(_ => 1f + (float)(rng.NextDouble() - 0.5) * 0.2f).ToArray();
        WeightTensor M(int rows, int cols) => WeightTensor.FromFloat32("w", R(rows * cols), rows, cols);
        var lw = Enumerable.Range(0, layers).Select(_ => new LayerWeights
        {
            AttnNorm = Norm(dim), FfnNorm = Norm(dim),
            Wq = M(config.QDim, dim), Wk = M(config.KvDim, dim), Wv = M(config.KvDim, dim), Wo = M(dim, config.QDim),
            Gate = M(ffn, dim), Up = M(ffn, dim), Down = M(dim, ffn),
            Bq = c.Bias ? R(config.QDim) : null, Bk = c.Bias ? R(config.KvDim) : null, Bv = c.Bias ? R(config.KvDim) : null,
            QNorm = c.QkNorm ? Norm(headDim) : null, KNorm = c.QkNorm ? Norm(headDim) : null,
        }).ToArray();
        var weights = new ModelWeights { TokenEmbedding = M(vocab, dim), Layers = lw, OutputNorm = Norm(dim), Output = M(vocab, dim) };
        weights.Validate(config, c.Name);

        int[] tokens = [3, 17, 5, 39, 0, 22, 11];
        using var pool = new WorkerPool(2);
        var tf = new ForwardRunner(new Transformer(config, weights), pool, maxTokens: 4);   // 7 tokens: two prefill chunks
        var engine = tf.PrefillAllLogits(tokens, 0, tf.CreateDenseCache(16)).ToArray();
        var naive = Naive(config, weights, tokens);
        for (int i = 0; i < naive.Length; i++)
            Assert.True(Math.Abs(naive[i] - engine[i]) < 1e-4, $"{c.Name}: logit {i} naive {naive[i]} engine {engine[i]}");
    }

    internal static double[] Naive(ModelConfig c, ModelWeights w, int[] tokens)
    {
        int n = tokens.Length, d = c.Dim, hd = c.HeadDim;
        double[][] Mat(WeightTensor t) { var f = t.ToFloat32(); return Enumerable.Range(0, t.Rows).Select(r => f.Skip(r * t.Cols).Take(t.Cols).Select(v => (double)v).ToArray()).ToArray(); }
        double[] MatVec(double[][] m, double[] x) => m.Select(row => row.Zip(x, (a, b) => a * b).Sum()).ToArray();
        double[] RmsNorm(double[] x, float[] g) { double ms = x.Sum(v => v * v) / x.Length; double s = 1 / Math.Sqrt(ms + c.NormEps); return x.Select((v, i) => v * s * g[i]).ToArray(); }
        // Gemma 3: sliding layers rotate with the local base and no scaling; global layers with the global base and
        // the linear factor (transformers' rotary_emb_local / rotary_emb).
        int layer = 0;
        bool Sliding() => c.SlidingWindow > 0 && (c.SlidingLayers == null || c.SlidingLayers[layer]);
        double Freq(int i)
        {
            bool local = Sliding() && c.SlidingRopeTheta > 0;
            double f = 1 / Math.Pow(local ? c.SlidingRopeTheta : c.RopeTheta, 2.0 * i / hd);
            if (!local) f /= c.RopeLinearFactor;
            if (c.RopeScaling is not { } s) return f;
            double low = s.OriginalContextLength / s.LowFreqFactor, high = s.OriginalContextLength / s.HighFreqFactor, wl = 2 * Math.PI / f;
            if (wl < high) return f;
            if (wl > low) return f / s.Factor;
            double sm = (s.OriginalContextLength / wl - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
            return (1 - sm) * f / s.Factor + sm * f;
        }
        void Rope(double[] v, int offset, int pos)
        {
            for (int i = 0; i < hd / 2; i++)
            {
                double a = pos * Freq(i), cos = Math.Cos(a), sin = Math.Sin(a);
                int i0 = c.RopeStyle == RopeStyle.Interleaved ? 2 * i : i, i1 = c.RopeStyle == RopeStyle.Interleaved ? 2 * i + 1 : i + hd / 2;
                double x0 = v[offset + i0], x1 = v[offset + i1];
                v[offset + i0] = x0 * cos - x1 * sin;
                v[offset + i1] = x0 * sin + x1 * cos;
            }
        }
        var emb = Mat(w.TokenEmbedding);
        var x = tokens.Select(t => emb[t].Select(v => v * (double)c.EmbeddingScale).ToArray()).ToArray();
        double scale = 1 / Math.Sqrt(c.QueryPreAttnScalar > 0 ? c.QueryPreAttnScalar : hd);
        double Cap(double v, double cap) => cap > 0 ? cap * Math.Tanh(v / cap) : v;
        double Act(double g) => c.Activation == FfnActivation.GeluTanh
            ? 0.5 * g * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (g + 0.044715 * g * g * g)))
            : g / (1 + Math.Exp(-g));
        for (layer = 0; layer < w.Layers.Length; layer++)
        {
            var l = w.Layers[layer];
            // A sliding layer's query at t sees keys t-W+1..t.
            int first(int t) => Sliding() ? Math.Max(0, t - c.SlidingWindow + 1) : 0;
            var (wq, wk, wv, wo) = (Mat(l.Wq), Mat(l.Wk), Mat(l.Wv), Mat(l.Wo));
            var ks = new double[n][]; var vs = new double[n][]; var qs = new double[n][];
            for (int t = 0; t < n; t++)
            {
                var h = RmsNorm(x[t], l.AttnNorm);
                qs[t] = MatVec(wq, h); ks[t] = MatVec(wk, h); vs[t] = MatVec(wv, h);
                if (l.Bq != null) for (int i = 0; i < qs[t].Length; i++) qs[t][i] += l.Bq[i];
                if (l.Bk != null) for (int i = 0; i < ks[t].Length; i++) ks[t][i] += l.Bk[i];
                if (l.Bv != null) for (int i = 0; i < vs[t].Length; i++) vs[t][i] += l.Bv[i];
                for (int hh = 0; hh < c.HeadCount; hh++)
                {
                    if (l.QNorm != null) RmsNorm(qs[t][(hh * hd)..((hh + 1) * hd)], l.QNorm).CopyTo(qs[t], hh * hd);
                    Rope(qs[t], hh * hd, t);
                }
                for (int hh = 0; hh < c.KvHeadCount; hh++)
                {
                    if (l.KNorm != null) RmsNorm(ks[t][(hh * hd)..((hh + 1) * hd)], l.KNorm).CopyTo(ks[t], hh * hd);
                    Rope(ks[t], hh * hd, t);
                }
            }
            for (int t = 0; t < n; t++)
            {
                var att = new double[c.QDim];
                for (int hh = 0; hh < c.HeadCount; hh++)
                {
                    int kv = hh / (c.HeadCount / c.KvHeadCount);
                    int f0 = first(t);
                    var scores = Enumerable.Range(f0, t + 1 - f0).Select(s => Cap(Enumerable.Range(0, hd).Sum(i => qs[t][hh * hd + i] * ks[s][kv * hd + i]) * scale, c.AttnLogitSoftcap)).ToArray();
                    double max = scores.Max(); var e = scores.Select(s => Math.Exp(s - max)).ToArray(); double z = e.Sum();
                    for (int s = f0; s <= t; s++) for (int i = 0; i < hd; i++) att[hh * hd + i] += e[s - f0] / z * vs[s][kv * hd + i];
                }
                var o = MatVec(wo, att);
                if (l.PostAttnNorm != null) o = RmsNorm(o, l.PostAttnNorm);
                for (int i = 0; i < d; i++) x[t][i] += o[i];
                var h2 = RmsNorm(x[t], l.FfnNorm);
                var g = MatVec(Mat(l.Gate), h2); var u = MatVec(Mat(l.Up), h2);
                var act = g.Select((v, i) => Act(v) * u[i]).ToArray();
                var down = MatVec(Mat(l.Down), act);
                if (l.PostFfnNorm != null) down = RmsNorm(down, l.PostFfnNorm);
                for (int i = 0; i < d; i++) x[t][i] += down[i];
            }
        }
        var outM = Mat(w.Output);
        return x.SelectMany(row => MatVec(outM, RmsNorm(row, w.OutputNorm)).Select(v => Cap(v, c.FinalLogitSoftcap))).ToArray();
    }
}
