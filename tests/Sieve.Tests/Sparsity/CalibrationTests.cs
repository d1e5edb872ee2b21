using Sieve.Models;
using Sieve.Sparsity;
using Sieve.Tests.Pop;

namespace Sieve.Tests.Sparsity;

/// <summary>The calibration on stories260K against the same statistics computed here from captured activations, by sorting.</summary>
public class CalibrationTests
{
    const int Window = 64, Budget = 256;

    static CalibrationDocuments Docs(SieveModel m) =>
        CalibrationDocuments.FromText(m.Tokenizer, PopFixtures.OracleText(), "oracles", new string('0', 64), Window, Budget);

    /// <summary>Every activation of every document, as the forward pass showed it: [document][(site, layer)] = rows × width.</summary>
    sealed class Capture : IForwardHook
    {
        public readonly List<Dictionary<(ActivationSite, int), float[]>> Documents = [];
        static readonly ActivationSite[] Sites = [ActivationSite.AttnNorm, ActivationSite.AttnOut, ActivationSite.FfnIn, ActivationSite.GateAct, ActivationSite.Up, ActivationSite.FfnAct];
        public bool Wants(ActivationSite site, int layer) => Sites.Contains(site);
        public void OnActivation(ActivationSite site, int layer, ForwardStage stage, int startPos, int count, int width, Span<float> values) =>
            Documents[^1][(site, layer)] = values.ToArray();
    }

    static Capture CaptureAll(SieveModel m, CalibrationDocuments docs)
    {
        var capture = new Capture();
        var runner = new ForwardRunner(m.Transformer, m.Pool, docs.Longest);
        foreach (var d in docs.Documents)
        {
            capture.Documents.Add([]);
            runner.Forward(d, 0, runner.CreateDenseCache(d.Length), ForwardStage.Prefill, ForwardRunner.LogitRows.None, ForwardOptions.WithHooks(capture));
        }
        return capture;
    }

    /// <summary>kth by a full sort: the ⌊s·n⌋-th smallest (1-based), 0 when ⌊s·n⌋ = 0.</summary>
    static double SortedKth(IEnumerable<double> v, double s)
    {
        var sorted = v.Order().ToArray();
        int k = (int)Math.Floor(s * sorted.Length);
        return k == 0 ? 0 : sorted[k - 1];
    }

    [Fact]
    public void QuantilesAndChannelThresholdsMatchAHandComputationInDouble()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var docs = Docs(m);
        Assert.Equal(4, docs.Documents.Count);
        Assert.All(docs.Documents, d => Assert.Equal(Window, d.Length));
        int L = m.Config.LayerCount, ffn = m.Config.FfnDim;
        // Two targets in one run, one of them per layer, so the successive selection is exercised too.
        float[] half = Enumerable.Repeat(0.5f, L).ToArray(), mixed = Enumerable.Range(0, L).Select(l => 0.3f + 0.1f * l).ToArray();
        var plan = new CalibrationPlan(Enum.GetValues<SparsityMethod>(), [half, mixed]);
        var stats = SparsityCalibrator.Measure(m.Transformer, m.Pool, docs, plan);
        var cap = CaptureAll(m, docs);
        int D = docs.Documents.Count;
        Assert.Equal(D, stats.Documents);

        double Mean(Func<Dictionary<(ActivationSite, int), float[]>, double> perDoc)
        {
            double sum = 0;
            foreach (var d in cap.Documents) sum += perDoc(d);
            return sum / D;
        }

        for (int l = 0; l < L; l++)
        {
            // m_i = mean over documents of the mean over tokens of |up_i| (summed in the same order: equal to the last bit)
            var u = UpStatistic(cap, l, ffn, x => Math.Abs(x));
            Assert.Equal(u, stats.UpMean[l]);

            for (int t = 0; t < 2; t++)
            {
                double s = plan.Targets[t][l];
                double Kth(ActivationSite site, Dictionary<(ActivationSite, int), float[]> d) => SortedKth(d[(site, l)].Select(x => Math.Abs((double)x)), s);
                // Quantiles of float magnitudes are float values averaged in double: equal to the last bit.
                Assert.Equal(Mean(d => Kth(ActivationSite.AttnNorm, d)), stats.Site[t][l][(int)SparseSite.QInput]);
                Assert.Equal(Mean(d => Kth(ActivationSite.AttnNorm, d)), stats.Site[t][l][(int)SparseSite.QkvInput]);
                Assert.Equal(Mean(d => Kth(ActivationSite.AttnOut, d)), stats.Site[t][l][(int)SparseSite.OInput]);
                Assert.Equal(Mean(d => Kth(ActivationSite.GateAct, d)), stats.Site[t][l][(int)SparseSite.Gate]);
                Assert.Equal(Mean(d => Kth(ActivationSite.FfnIn, d)), stats.Site[t][l][(int)SparseSite.FfnInput]);
                Assert.Equal(Mean(d => Kth(ActivationSite.FfnAct, d)), stats.Site[t][l][(int)SparseSite.DownInput]);

                // τ = mean over documents of kth(|act_i|·m_i) over (token, channel); θ_i = τ / m_i.
                double tau = Mean(d => SortedKth(d[(ActivationSite.GateAct, l)].Select((a, j) => Math.Abs((double)a) * u[j % ffn]), s));
                Assert.Equal(tau, stats.Tau[t][l]);
                var theta = stats.Thresholds(SparsityMethod.Chess, t).Layers[l].GateChannels!;
                for (int i = 0; i < ffn; i++)
                    Assert.Equal(u[i] == 0 ? float.MaxValue : (float)(tau / u[i]), theta[i]);
                Assert.True(tau > 0);
            }
        }
    }

    /// <summary>Per channel, the mean over documents of each document's mean over tokens of f(up_i).</summary>
    static double[] UpStatistic(Capture cap, int layer, int ffn, Func<double, double> f)
    {
        var sum = new double[ffn];
        foreach (var d in cap.Documents)
        {
            var up = d[(ActivationSite.Up, layer)];
            int rows = up.Length / ffn;
            for (int i = 0; i < ffn; i++)
            {
                double s = 0;
                for (int r = 0; r < rows; r++) s += f(up[r * ffn + i]);
                sum[i] += s / rows;
            }
        }
        return sum.Select(x => x / cap.Documents.Count).ToArray();
    }

    [Fact]
    public void TheL2VariantUsesTheMeanSquareAndTheSquareRoot()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var docs = Docs(m);
        int L = m.Config.LayerCount, ffn = m.Config.FfnDim, l = 2;
        var stats = SparsityCalibrator.Measure(m.Transformer, m.Pool, docs, new CalibrationPlan([SparsityMethod.Chess], [Enumerable.Repeat(0.5f, L).ToArray()], L2: true));
        var cap = CaptureAll(m, docs);
        int D = cap.Documents.Count;
        var m2 = UpStatistic(cap, l, ffn, x => x * x);
        Assert.Equal(m2, stats.UpMean[l]);
        double tau = 0;
        foreach (var d in cap.Documents) tau += SortedKth(d[(ActivationSite.GateAct, l)].Select((a, j) => (double)a * a * m2[j % ffn]), 0.5);
        tau /= D;
        Assert.Equal(tau, stats.Tau[0][l]);
        var theta = stats.Thresholds(SparsityMethod.Chess).Layers[l].GateChannels!;
        for (int i = 0; i < ffn; i++)
            Assert.Equal(m2[i] == 0 ? float.MaxValue : (float)Math.Sqrt(tau / m2[i]), theta[i]);
        // Only what CHESS needs was gathered: the other sites read NaN, not a silent 0.
        Assert.True(double.IsNaN(stats.Site[0][l][(int)SparseSite.Gate]));
    }

    [Fact]
    public void EachMethodSetsOnlyItsSitesAndChessPlusNeverTheKvInput()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        int L = m.Config.LayerCount;
        var stats = SparsityCalibrator.Measure(m.Transformer, m.Pool, Docs(m), new CalibrationPlan(Enum.GetValues<SparsityMethod>(), [Enumerable.Repeat(0.5f, L).ToArray()]));
        foreach (var method in Enum.GetValues<SparsityMethod>())
        {
            var t = stats.Thresholds(method);
            t.Validate(m.Config);
            foreach (var lt in t.Layers)
                foreach (var site in Enum.GetValues<SparseSite>())
                    Assert.Equal(method.Sites().Contains(site), lt.Active(site));
        }
        Assert.DoesNotContain(SparseSite.QkvInput, SparsityMethod.ChessPlus.Sites());
        Assert.All(stats.Thresholds(SparsityMethod.ChessPlus).Layers, lt => Assert.Equal(0f, lt.QkvInput));
        // A CHESS+ file that thresholds the k/v input is refused, wherever it came from.
        var cp = stats.Thresholds(SparsityMethod.ChessPlus);
        var bad = cp with { Layers = [cp.Layers[0] with { QkvInput = 0.1f }, .. cp.Layers[1..]] };
        var e = Assert.Throws<InvalidDataException>(() => bad.Validate(m.Config));
        Assert.Contains("chess+ does not threshold QkvInput", e.Message);
    }

    [Fact]
    public void UnderChessPlusTheKeysAndValuesAreTheDenseOnesAndTheQueriesAreNot()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        int L = m.Config.LayerCount;
        var t = SparsityCalibrator.Calibrate(m.Transformer, m.Pool, Docs(m), SparsityMethod.ChessPlus, Enumerable.Repeat(0.5f, L).ToArray());
        var tokens = m.Tokenizer.Encode("Once upon a time there was a little girl");
        // The prompt as one prefill (masked tensors through the dense matmul), then every token again as single-row
        // decode steps (the sparse kernels): layer 0's rows of the site, in order.
        float[] Run(ActivationSite site, ForwardOptions options)
        {
            var seen = new List<float>();
            var o = options.AddHook(new SiteCapture(site, 0, v => seen.AddRange(v)));
            var runner = m.CreateRunner();
            runner.Forward(tokens, 0, runner.CreateDenseCache(tokens.Length), ForwardStage.Prefill, ForwardRunner.LogitRows.None, o);
            var cache = runner.CreateDenseCache(tokens.Length);
            for (int i = 0; i < tokens.Length; i++) runner.Decode(tokens[i], i, cache, o);
            return [.. seen];
        }
        foreach (bool kernels in new[] { true, false })
        {
            var sparse = new ActivationSparsity(m.Transformer, t, sparseKernels: kernels).Apply();
            // Layer 0's K and V come from the embedding through the attention norm only: bit-identical when k_proj and v_proj read the dense input.
            Assert.Equal(Run(ActivationSite.K, ForwardOptions.Default), Run(ActivationSite.K, sparse));
            Assert.Equal(Run(ActivationSite.V, ForwardOptions.Default), Run(ActivationSite.V, sparse));
            Assert.NotEqual(Run(ActivationSite.Q, ForwardOptions.Default), Run(ActivationSite.Q, sparse));
        }
    }

    sealed class SiteCapture(ActivationSite site, int layer, Action<float[]> seen) : IForwardHook
    {
        public bool Wants(ActivationSite s, int l) => s == site && l == layer;
        public void OnActivation(ActivationSite s, int l, ForwardStage stage, int startPos, int count, int width, Span<float> values) => seen(values.ToArray());
    }

    [Fact]
    public void DocumentsSplitOnBlankLinesAndLongOnesIntoWindows()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        string text = "Once upon a time.\n\n  \nThe end.\r\n\r\n" + string.Join(" ", Enumerable.Repeat("Lily liked the park.", 30));
        var docs = CalibrationDocuments.FromText(m.Tokenizer, text, "t.txt", "x", window: 32, maxTokens: 100_000);
        Assert.Equal(m.Tokenizer.Encode("Once upon a time."), docs.Documents[0]);
        Assert.Equal(m.Tokenizer.Encode("The end."), docs.Documents[1]);
        var story = m.Tokenizer.Encode(string.Join(" ", Enumerable.Repeat("Lily liked the park.", 30)));
        int full = story.Length / 32, tail = story.Length % 32;
        Assert.Equal(2 + full + (tail >= 8 ? 1 : 0), docs.Documents.Count);
        Assert.Equal(story[..32], docs.Documents[2]);
        // The budget cuts the last document taken.
        var cut = CalibrationDocuments.FromText(m.Tokenizer, text, "t.txt", "x", window: 32, maxTokens: 40);
        Assert.Equal(40, cut.Tokens);
    }
}
