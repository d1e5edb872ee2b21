using Sieve.Models;

namespace Sieve.Tests.Models;

/// <summary>POP's virtual gates: 1 is the model, 0 removes a layer's branch for one stage, anything between scales it.</summary>
public class LayerGateTests
{
    static readonly int[] Prompt = [1, 403, 407, 261, 378, 432, 383, 286];

    [Fact]
    public void GatesOfOneAreBitIdenticalAndZeroEqualsRemovingTheBranch()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var tf = m.CreateRunner(16);
        int layers = m.Config.LayerCount;
        var plain = tf.PrefillAllLogits(Prompt, 0, tf.CreateDenseCache(16)).ToArray();
        var ones = new ForwardOptions { Gates = new LayerGates(Enumerable.Repeat(1f, layers).ToArray(), Enumerable.Repeat(1f, layers).ToArray()) };
        Assert.Equal(plain, tf.PrefillAllLogits(Prompt, 0, tf.CreateDenseCache(16), ones).ToArray());

        // Gate 0 in prefill = the layer's K/V still cached but its contribution dropped = a KvOnly layer in prefill.
        var gated = tf.PrefillAllLogits(Prompt, 0, tf.CreateDenseCache(16), new ForwardOptions { Gates = LayerGates.One(layers, ForwardStage.Prefill, 3, 0f) }).ToArray();
        var kvOnly = LayerPlan.Full(layers);
        var modes = Enumerable.Repeat(LayerMode.Full, layers).ToArray();
        modes[3] = LayerMode.KvOnly;
        var plan = new LayerPlan(modes, Enumerable.Repeat(LayerMode.Full, layers).ToArray());
        Assert.Equal(tf.PrefillAllLogits(Prompt, 0, tf.CreateDenseCache(16), ForwardOptions.WithPlan(plan)).ToArray(), gated);
        Assert.NotEqual(plain, gated);

        // A decode-stage gate leaves prefill alone.
        Assert.Equal(plain, tf.PrefillAllLogits(Prompt, 0, tf.CreateDenseCache(16), new ForwardOptions { Gates = LayerGates.One(layers, ForwardStage.Decode, 3, 0f) }).ToArray());
    }

    [Fact]
    public void GatesOfTheWrongLengthAreRefused()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var tf = m.CreateRunner(16);
        var e = Assert.Throws<ArgumentException>(() => tf.Prefill(Prompt, 0, tf.CreateDenseCache(16), new ForwardOptions { Gates = LayerGates.One(3, ForwardStage.Prefill, 0, 0f) }));
        Assert.Contains("gates cover 3 layers", e.Message);
    }
}
