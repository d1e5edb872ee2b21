using Sieve.Models;
using Sieve.Pruning;
using Sieve.Threading;

namespace Sieve.Tests.Models;

public class ForwardPassTests
{
    [Fact]
    public void PrefillLogitsEqualStepByStepDecode()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var tf = m.Runner();
        int[] prompt = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376];
        var prefill = tf.Prefill(prompt, 0, tf.CreateDenseCache(64)).ToArray();
        var cache = tf.CreateDenseCache(64);
        float[] step = [];
        for (int i = 0; i < prompt.Length; i++) step = tf.Decode(prompt[i], i, cache).ToArray();
        for (int i = 0; i < prefill.Length; i++) Assert.Equal(step[i], prefill[i], 4);
    }

    [Fact]
    public void PrefillInChunksEqualsOnePrefill()
    {
        using var pool = new WorkerPool(2);
        using var whole = SieveModel.Load(Fixtures.Stories260KGguf, new SieveModelOptions { MaxBatch = 64 }, pool);
        using var chunked = SieveModel.Load(Fixtures.Stories260KGguf, new SieveModelOptions { MaxBatch = 3 }, pool);
        int[] prompt = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298];
        var a = whole.Runner().PrefillAllLogits(prompt, 0, whole.Runner().CreateDenseCache(16)).ToArray();
        var b = chunked.Runner().PrefillAllLogits(prompt, 0, chunked.Runner().CreateDenseCache(16)).ToArray();
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 4);
    }

    sealed class Recorder : IForwardHook
    {
        public readonly List<(ActivationSite Site, int Layer, int Count, int Width)> Seen = [];
        public bool Wants(ActivationSite site, int layer) => true;
        public void OnActivation(ActivationSite site, int layer, ForwardStage stage, int startPos, int count, int width, Span<float> values)
        {
            Assert.Equal(count * width, values.Length);
            Seen.Add((site, layer, count, width));
        }
    }

    [Fact]
    public void HookSeesEveryNamedSiteOfEveryLayer()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var rec = new Recorder();
        m.Runner().Prefill([1, 403, 407], 0, m.Runner().CreateDenseCache(8), ForwardOptions.WithHooks(rec));
        foreach (var site in Enum.GetValues<ActivationSite>())
            Assert.Equal(m.Config.LayerCount, rec.Seen.Count(s => s.Site == site));
        Assert.Contains(rec.Seen, s => s.Site == ActivationSite.FfnAct && s.Width == m.Config.FfnDim && s.Count == 3);
    }

    sealed class ZeroFfn : IForwardHook
    {
        public bool Wants(ActivationSite site, int layer) => site == ActivationSite.FfnAct;
        public void OnActivation(ActivationSite site, int layer, ForwardStage stage, int startPos, int count, int width, Span<float> values) => values.Clear();
    }

    [Fact]
    public void HookCanRewriteActivations()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var before = m.Runner().Prefill([1, 403], 0, m.Runner().CreateDenseCache(4)).ToArray();
        var after = m.Runner().Prefill([1, 403], 0, m.Runner().CreateDenseCache(4), ForwardOptions.WithHooks(new ZeroFfn())).ToArray();
        Assert.NotEqual(before, after);
    }

    [Fact]
    public void RemovingALayerChangesLogitsAndKvOnlyLeavesResidualUntouched()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var tf = m.Runner();
        int[] prompt = [1, 403, 407];
        var full = tf.Prefill(prompt, 0, tf.CreateDenseCache(4)).ToArray();
        var removed = tf.Prefill(prompt, 0, tf.CreateDenseCache(4), ForwardOptions.WithPlan(LayerPlan.Removing(5, [4]))).ToArray();
        Assert.NotEqual(full, removed);
        // KvOnly in prefill leaves the residual exactly as Skip does; only the cache differs.
        var modes = Enumerable.Repeat(LayerMode.Full, 5).ToArray();
        var prefillModes = (LayerMode[])modes.Clone();
        prefillModes[4] = LayerMode.KvOnly;
        var kvOnly = tf.Prefill(prompt, 0, tf.CreateDenseCache(4), ForwardOptions.WithPlan(new LayerPlan(prefillModes, modes))).ToArray();
        Assert.Equal(removed, kvOnly);
    }

    [Fact]
    public void ATokenOutsideTheVocabularyIsRefused()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Runner().Prefill([1, 99999], 0, m.Runner().CreateDenseCache(4)));
    }
}
