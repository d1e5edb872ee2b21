using Sieve.Models;
using Sieve.Pop;

namespace Sieve.Tests.Pop;

/// <summary>
/// The gate derivative by central differences on stories260K (one 40-token window: 31 prefill rows, 9 decode rows,
/// text targets), checked against itself at half the step, against one-sided differences, and against the ablation.
/// </summary>
public class GateDerivativeTests
{
    const int PromptLength = 32;
    const double Epsilon = 1e-2;

    /// <summary>
    /// How far d(ε) and d(ε/2) may differ: the O(ε²) truncation (ε²/6·L''' ≈ 2e-5·L''') plus float32 noise in L
    /// (~1e-7 over a gate step of 1e-2 gives ~1e-5; measured differences stay below 4e-5 at ε/4).
    /// </summary>
    const double CentralAgreement = 1e-4;

    static WindowLoss Window(SieveModel m) => new(m.CreateRunner(), PopFixtures.GreedyTokens()[..40], PromptLength, new Random(0));

    static double Central(WindowLoss loss, ForwardStage stage, int layer, double e)
    {
        float up = (float)(1 + e), down = (float)(1 - e);
        return (loss.At(stage, layer, up).Text - loss.At(stage, layer, down).Text) / ((double)up - down);
    }

    static double OneSided(WindowLoss loss, ForwardStage stage, int layer, double h)
    {
        float up = (float)(1 + h);
        return (loss.At(stage, layer, up).Text - loss.Dense.Text) / ((double)up - 1);
    }

    [Fact]
    public void CentralDifferenceIsStableAcrossStepSizesWhileAOneSidedDifferenceIsOffByHalfTheStepTimesTheCurvature()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var loss = Window(m);
        int linear = 0;
        foreach (var stage in new[] { ForwardStage.Prefill, ForwardStage.Decode })
            for (int l = 0; l < m.Config.LayerCount; l++)
            {
                double d1 = Central(loss, stage, l, Epsilon), d2 = Central(loss, stage, l, Epsilon / 2);
                Assert.True(Math.Abs(d1 - d2) <= CentralAgreement, $"{stage} layer {l}: d(ε) {d1:E6} vs d(ε/2) {d2:E6}");
                // One-sided: f(h) = L' + h/2·L'' + O(h²). Where the curvature makes that error stand well above the noise,
                // it must halve with h — the O(h) behaviour the central difference does not have. (Below 4e-4 the h²/6·L'''
                // term and the noise move the ratio: prefill layer 0, with 2.4e-4, gives 2.8.)
                double e1 = OneSided(loss, stage, l, Epsilon) - d2, e2 = OneSided(loss, stage, l, Epsilon / 2) - d2;
                if (Math.Abs(e1) < 4e-4) continue;
                Assert.True(Math.Abs(e1) > 5 * Math.Abs(d1 - d2), $"{stage} layer {l}: the one-sided error {e1:E3} should dwarf the central one {d1 - d2:E3}");
                Assert.InRange(e1 / e2, 1.6, 2.4);
                linear++;
            }
        Assert.True(linear >= 3, $"only {linear} layer-stages had a one-sided error above the noise");   // stories260K: every decode gate
    }

    [Fact]
    public void TheLastLayersPrefillGateChangesNothing()
    {
        // Its output at prefill rows feeds nothing: no later layer reads it and prefill rows have no loss; its K/V come
        // from its input. So every gate value gives the dense loss bit for bit.
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var loss = Window(m);
        int last = m.Config.LayerCount - 1;
        foreach (float g in new[] { 0f, 0.5f, 0.99f, 1.01f })
            Assert.Equal(loss.Dense, loss.At(ForwardStage.Prefill, last, g));
        Assert.NotEqual(loss.Dense, loss.At(ForwardStage.Decode, last, 0f));
    }

    [Fact]
    public void AblationHasTheOppositeSignOfTheDerivativeWhereTheLossIsMonotoneInTheGate()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var loss = Window(m);
        // Dense near 1 so a minimum just below 1 (stories260K's decode gate of layer 3 has one near 0.9) breaks monotony.
        float[] grid = [0f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.85f, 0.9f, 0.95f, 0.98f, 1f];
        int checkedCount = 0;
        foreach (var stage in new[] { ForwardStage.Prefill, ForwardStage.Decode })
            for (int l = 0; l < m.Config.LayerCount; l++)
            {
                var curve = grid.Select(g => loss.At(stage, l, g).Text).ToArray();
                var steps = curve.Zip(curve.Skip(1), (a, b) => Math.Sign(b - a)).ToArray();
                bool monotone = steps.All(s => s == steps[0]) && steps[0] != 0;
                double ablation = curve[0] - curve[^1], d = Central(loss, stage, l, Epsilon);
                if (!monotone || Math.Abs(ablation) < 1e-3) continue;
                Assert.Equal(Math.Sign(ablation), -Math.Sign(d));
                checkedCount++;
            }
        Assert.True(checkedCount >= 4, $"only {checkedCount} layer-stages had a monotone loss in the gate");   // stories260K: 6
    }
}
