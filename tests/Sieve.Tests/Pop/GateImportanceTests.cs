using Sieve.Models;
using Sieve.Pop;

namespace Sieve.Tests.Pop;

public class GateImportanceTests
{
    static ImportanceWindows Windows(SieveModel m, int prompt = 24, int decode = 8, int count = 2) =>
        ImportanceWindows.FromText(m.Tokenizer, PopFixtures.OracleText(), "oracles", prompt, decode, count, m.Config.ContextLength);

    static IEnumerable<GateScores> All(LayerImportance l) => [l.Prefill, l.Decode, l.Text.Prefill, l.Text.Decode];

    [Fact]
    public void ALayerWhoseBranchIsZeroHasNoImportanceInEitherStage()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        const int dead = 2;
        var runner = new ForwardRunner(PopFixtures.WithDeadBranch(m, dead), m.Pool);
        var result = GateImportance.Measure(runner, Windows(m), 1e-2, seed: 3);
        // x += g·0 leaves x as it was for every g: Fisher, curvature, ablation and derivative are exactly 0.
        foreach (var s in All(result.Layers[dead]))
            Assert.Equal(new GateScores(0, 0, 0, 0), s);
        // The other layers still matter at decode (stories260K: ΔL 0.3–3 nats), so the zeros are not a dead measurement.
        foreach (var l in result.Layers.Where(l => l.Layer != dead))
        {
            Assert.True(l.Decode.Fisher > 0 && l.Text.Decode.Ablation > 0.05, $"layer {l.Layer}: {l.Decode} / {l.Text.Decode}");
            Assert.All(All(l), s => Assert.True(double.IsFinite(s.Fisher) && double.IsFinite(s.Curvature) && double.IsFinite(s.Ablation)));
        }
    }

    [Fact]
    public void PrefixReuseChangesNoNumberAndCountsItsPasses()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var windows = Windows(m);
        var reused = GateImportance.Measure(m.CreateRunner(), windows, 1e-2);
        var plain = GateImportance.Measure(m.CreateRunner(), windows, 1e-2, reusePrefix: false);
        Assert.Equal(plain.DenseLoss, reused.DenseLoss);
        Assert.Equal(plain.Layers, reused.Layers);
        int L = m.Config.LayerCount;
        // Without reuse each of the 6L gate settings runs prefill and decode, after the dense pair: 2(6L + 1) per window.
        Assert.Equal(2L * (6 * L + 1) * windows.Windows.Count, plain.ForwardPasses);
        Assert.True(reused.ForwardPasses < plain.ForwardPasses);
        // Same seed, same targets; another seed samples other ones.
        Assert.Equal(reused.Layers, GateImportance.Measure(m.CreateRunner(), windows, 1e-2).Layers);
        Assert.NotEqual(reused.DenseLoss.Sampled, GateImportance.Measure(m.CreateRunner(), windows, 1e-2, seed: 1).DenseLoss.Sampled);
    }

    [Fact]
    public void WindowsOpenWithBosAndCoverTheTextInOrder()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var body = m.Tokenizer.Encode(PopFixtures.OracleText(), addBos: false);
        var w = Windows(m, 24, 8, 0);
        Assert.Equal(body.Length / 31, w.Windows.Count);
        Assert.Equal(w.Available, w.Windows.Count);
        Assert.All(w.Windows, x => Assert.Equal(1, x[0]));
        Assert.Equal(body[31..62], w.Windows[1][1..]);
        Assert.Equal(23, w.PrefillRows);
        Assert.Equal(3, Windows(m, 24, 8, 3).Windows.Count);
    }

    [Theory]
    [InlineData(2000, 64, "do not fit the model's context of 2048")]
    [InlineData(1024, 1025, "do not fit the model's context of 2048")]
    [InlineData(1, 8, "--prompt-len 1")]
    public void WindowsThatCannotBeCutAreRefused(int prompt, int decode, string message)
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var e = Assert.Throws<ArgumentException>(() => Windows(m, prompt, decode));
        Assert.Contains(message, e.Message);
        Assert.Contains("is empty", Assert.Throws<ArgumentException>(() =>
            ImportanceWindows.FromText(m.Tokenizer, " \n", "calib.txt", 8, 4, 1, 512)).Message);
        Assert.Contains("calib.txt: the calibration text has", Assert.Throws<ArgumentException>(() =>
            ImportanceWindows.FromText(m.Tokenizer, "Once upon a time", "calib.txt", 64, 8, 1, 512)).Message);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1e-6)]
    [InlineData(0.75)]
    [InlineData(double.NaN)]
    public void EpsilonOutsideItsRangeIsRefused(double epsilon)
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        Assert.Contains("--epsilon", Assert.Throws<ArgumentException>(() => GateImportance.Measure(m.CreateRunner(), Windows(m), epsilon)).Message);
    }
}
