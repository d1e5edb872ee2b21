using Sieve.Models;
using Sieve.Models.Operators;
using Sieve.Sparsity;

namespace Sieve.Tests.Sparsity;

/// <summary>
/// The operator seam: with nothing zeroed a sparse operator set must change no bit of the forward pass; with
/// thresholds it zeroes only where its method says (never the k_proj/v_proj input under CHESS+), counts what it
/// zeroed, and a batch mixing sets gives each sequence what it gets alone.
/// </summary>
public class OperatorSeamTests
{
    static readonly int[] Prompt = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 330];

    /// <summary>Every layer alike; gate channels (CHESS) when <paramref name="gateChannels"/>, else a scalar gate.</summary>
    internal static ActivationThresholds Uniform(ModelConfig c, SparsityMethod method, LayerThresholds layer) => new()
    {
        Method = method,
        LayerCount = c.LayerCount, Dim = c.Dim, QDim = c.QDim, FfnDim = c.FfnDim,
        TargetSparsity = new float[c.LayerCount],
        Layers = Enumerable.Repeat(layer, c.LayerCount).ToArray(),
    };

    /// <summary>Prefill logits of every prompt row, then five greedy decode steps' logits.</summary>
    static List<float[]> Trace(ForwardRunner runner, ForwardOptions? options)
    {
        var cache = runner.CreateDenseCache(64);
        var rows = new List<float[]>();
        var all = runner.PrefillAllLogits(Prompt, 0, cache, options).ToArray();
        int vocab = runner.Config.VocabSize;
        for (int i = 0; i < Prompt.Length; i++) rows.Add(all.AsSpan(i * vocab, vocab).ToArray());
        int pos = Prompt.Length, token = ArgMax(rows[^1]);
        for (int s = 0; s < 5; s++, pos++)
        {
            rows.Add(runner.Decode(token, pos, cache, options).ToArray());
            token = ArgMax(rows[^1]);
        }
        return rows;
    }

    static int ArgMax(float[] v) => Array.IndexOf(v, v.Max());

    [Theory]
    [InlineData(SparsityMethod.Cats)]
    [InlineData(SparsityMethod.Chess)]
    [InlineData(SparsityMethod.ChessPlus)]
    [InlineData(SparsityMethod.Teal)]
    public void NothingZeroedIsBitIdenticalToTheDensePass(SparsityMethod method)
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var runner = m.CreateRunner();
        var dense = Trace(runner, null);
        var set = new ActivationSparsity(m.Transformer, Uniform(m.Config, method, LayerThresholds.Dense));
        var seam = Trace(runner, set.Apply());
        Assert.Equal(dense.Count, seam.Count);
        for (int i = 0; i < dense.Count; i++) Assert.Equal(dense[i], seam[i]);   // bitwise
        // and the model's own set, named explicitly, is the default
        var own = Trace(runner, new ForwardOptions { Operators = m.Transformer.Operators });
        for (int i = 0; i < dense.Count; i++) Assert.Equal(dense[i], own[i]);
    }

    [Fact]
    public void HookedGateAndUpSitesChangeNoBit()
    {
        // A hook on act(gate) and up makes the dense FFN compute them apart; same operations, same order.
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var runner = m.CreateRunner();
        var dense = Trace(runner, null);
        var seen = new SiteCounter(ActivationSite.GateAct, ActivationSite.Up);
        var hooked = Trace(runner, ForwardOptions.WithHooks(seen));
        for (int i = 0; i < dense.Count; i++) Assert.Equal(dense[i], hooked[i]);
        Assert.Equal(2 * m.Config.LayerCount * (1 + 5), seen.Calls);
    }

    [Fact]
    public void HookedGeGluSitesChangeNoBit()
    {
        // Gemma's GeGLU split into act(gate) and the product (a random F32 Gemma 2, tests/fixtures/gemma2-mini).
        using var m = SieveModel.Load(Path.Combine(Fixtures.Dir, "gemma2-mini", "gemma2-mini.gguf"));
        Assert.Equal(FfnActivation.GeluTanh, m.Transformer.Blocks[0].Activation);   // the premise
        var runner = m.CreateRunner();
        int[] prompt = [.. Enumerable.Range(2, 12)];
        var cache = runner.CreateDenseCache(32);
        var dense = runner.PrefillAllLogits(prompt, 0, cache).ToArray();
        var seen = new SiteCounter(ActivationSite.GateAct);
        var hooked = runner.PrefillAllLogits(prompt, 0, runner.CreateDenseCache(32), ForwardOptions.WithHooks(seen)).ToArray();
        Assert.Equal(dense, hooked);
        Assert.Equal(m.Config.LayerCount, seen.Calls);
    }

    sealed class SiteCounter(params ActivationSite[] sites) : IForwardHook
    {
        public int Calls;
        public bool Wants(ActivationSite site, int layer) => sites.Contains(site);
        public void OnActivation(ActivationSite site, int layer, ForwardStage stage, int startPos, int count, int width, Span<float> values) => Calls++;
    }

    /// <summary>Records layer 0's K and V as they enter the cache, and Q.</summary>
    sealed class Layer0 : IForwardHook
    {
        public readonly List<float[]> K = [], V = [], Q = [];
        public bool Wants(ActivationSite site, int layer) => layer == 0 && site is ActivationSite.K or ActivationSite.V or ActivationSite.Q;
        public void OnActivation(ActivationSite site, int layer, ForwardStage stage, int startPos, int count, int width, Span<float> values) =>
            (site == ActivationSite.K ? K : site == ActivationSite.V ? V : Q).Add(values.ToArray());
    }

    [Fact]
    public void ChessPlusNeverSparsifiesTheKeyAndValueInput()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var runner = m.CreateRunner();
        var t = Uniform(m.Config, SparsityMethod.ChessPlus, new LayerThresholds { QInput = 0.8f, OInput = 0.05f, Gate = 0.05f });
        var set = new ActivationSparsity(m.Transformer, t);
        var dense = new Layer0();
        var sparse = new Layer0();
        Trace(runner, ForwardOptions.WithHooks(dense));
        Trace(runner, set.Apply(ForwardOptions.WithHooks(sparse)));
        // Layer 0's K and V come from the same input with or without CHESS+ while its Q does not. (The first
        // decode token differs after layer 0 already, so compare the prompt's rows, the first trace entry.)
        Assert.Equal(dense.K[0], sparse.K[0]);
        Assert.Equal(dense.V[0], sparse.V[0]);
        Assert.NotEqual(dense.Q[0], sparse.Q[0]);
        Assert.Equal(0, Enumerable.Range(0, m.Config.LayerCount).Sum(l => set.Stats.Total(l, SparseSite.QkvInput)));
        Assert.True(set.Stats.Sparsity(SparseSite.QInput) > 0.3, $"q input sparsity {set.Stats.Sparsity(SparseSite.QInput)}");
        Assert.True(set.Stats.Sparsity(SparseSite.OInput) > 0, $"o input sparsity {set.Stats.Sparsity(SparseSite.OInput)}");
        Assert.True(set.Stats.Sparsity(SparseSite.Gate) > 0, $"gate sparsity {set.Stats.Sparsity(SparseSite.Gate)}");
        // and the file format refuses a k/v threshold for CHESS+
        var bad = Uniform(m.Config, SparsityMethod.ChessPlus, new LayerThresholds { QkvInput = 0.1f });
        Assert.Throws<InvalidDataException>(() => bad.Validate(m.Config));
    }

    [Theory]
    [InlineData(SparsityMethod.Chess)]
    [InlineData(SparsityMethod.ChessPlus)]
    [InlineData(SparsityMethod.Teal)]
    public void SparseKernelsAgreeWithDenseProductsOnTheMaskedInput(SparsityMethod method)
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var runner = m.CreateRunner();
        var c = m.Config;
        var rng = new Random(7);
        var layer = method switch
        {
            SparsityMethod.Teal => new LayerThresholds { QkvInput = 0.5f, OInput = 0.05f, FfnInput = 0.5f, DownInput = 0.02f },
            SparsityMethod.ChessPlus => new LayerThresholds { QInput = 0.5f, OInput = 0.05f, GateChannels = [.. Enumerable.Range(0, c.FfnDim).Select(_ => (float)rng.NextDouble() * 0.1f)] },
            _ => new LayerThresholds { GateChannels = [.. Enumerable.Range(0, c.FfnDim).Select(_ => (float)rng.NextDouble() * 0.1f)] },
        };
        var t = Uniform(c, method, layer);
        var kernels = new ActivationSparsity(m.Transformer, t);
        var matmuls = new ActivationSparsity(m.Transformer, t, sparseKernels: false);
        Assert.True(kernels.InputMajorBytes > 0);
        Assert.Equal(0, matmuls.InputMajorBytes);
        // Same masks (thresholds act before either product), only the products differ: F32 weights summed in
        // another order agree to ~1e-6 relative; the logits to 1e-3 over 5 decode steps.
        var a = Trace(runner, kernels.Apply());
        var b = Trace(runner, matmuls.Apply());
        for (int i = 0; i < a.Count; i++)
            for (int j = 0; j < a[i].Length; j++) Assert.Equal(b[i][j], a[i][j], 1e-3f);
        Assert.True(kernels.Stats.DecodeBytes > 0);
        Assert.True(kernels.Stats.DecodeBytes < matmuls.Stats.DecodeBytes, $"sparse kernels read {kernels.Stats.DecodeBytes} bytes, dense {matmuls.Stats.DecodeBytes}");
    }

    [Fact]
    public void InputMajorOnlyRunsPrefillWithoutTheRowMajorWeights()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var runner = m.CreateRunner();
        var c = m.Config;
        var t = Uniform(c, SparsityMethod.Teal, new LayerThresholds { QkvInput = 0.5f, OInput = 0.05f, FfnInput = 0.5f, DownInput = 0.02f });
        var usual = new ActivationSparsity(m.Transformer, t);
        var only = new ActivationSparsity(m.Transformer, t, inputMajorOnly: true);
        // TEAL has a copy of every projection, so none of the seven row-major matrices is read.
        long all = m.Transformer.Weights.Layers.Sum(l => l.Wq.ByteLength + l.Wk.ByteLength + l.Wv.ByteLength + l.Wo.ByteLength
            + l.Gate.ByteLength + l.Up.ByteLength + l.Down.ByteLength);
        Assert.Equal(all, only.RowMajorBytesUnread);
        Assert.Equal(0, usual.RowMajorBytesUnread);
        // Same masks; prefill's products differ only in summation order (F32 weights).
        var a = Trace(runner, usual.Apply());
        var b = Trace(runner, only.Apply());
        for (int i = 0; i < a.Count; i++)
            for (int j = 0; j < a[i].Length; j++) Assert.Equal(a[i][j], b[i][j], 1e-3f);
        Assert.Throws<ArgumentException>(() => new ActivationSparsity(m.Transformer, t, sparseKernels: false, inputMajorOnly: true));
    }

    [Fact]
    public void ABatchMixingSetsGivesEachSequenceItsOwnResult()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var runner = m.CreateRunner();
        var t = Uniform(m.Config, SparsityMethod.ChessPlus, new LayerThresholds { QInput = 0.5f, OInput = 0.05f, Gate = 0.05f });
        var sparse = new ActivationSparsity(m.Transformer, t).Apply();
        float[] Alone(ForwardOptions? o, int token)
        {
            var cache = runner.CreateDenseCache(32);
            runner.Prefill(Prompt, 0, cache, o);
            return runner.Decode(token, Prompt.Length, cache, o).ToArray();
        }
        var wantDense = Alone(null, 300);
        var wantSparse = Alone(sparse, 301);
        var c1 = runner.CreateDenseCache(32);
        var c2 = runner.CreateDenseCache(32);
        var c3 = runner.CreateDenseCache(32);
        runner.Prefill(Prompt, 0, c1);
        runner.Prefill(Prompt, 0, c2, sparse);
        runner.Prefill(Prompt, 0, c3);
        runner.Run([
            BatchSegment.Decode(c1, 300, Prompt.Length),
            BatchSegment.Decode(c2, 301, Prompt.Length, sparse),
            BatchSegment.Decode(c3, 300, Prompt.Length),
        ]);
        // Rows that share a set run as one call; the sparse row runs alone, so it takes the single-row kernels.
        Assert.Equal(wantDense, runner.Logits(0).ToArray());
        Assert.Equal(wantSparse, runner.Logits(1).ToArray());
        Assert.Equal(wantDense, runner.Logits(2).ToArray());
    }
}
