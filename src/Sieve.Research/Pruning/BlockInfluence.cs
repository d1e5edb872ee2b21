using Sieve.Models;

namespace Sieve.Pruning;

/// <summary>
/// ShortGPT's Block Influence: BI_l = 1 − mean over tokens of cos(h_in, h_out) for block l. Low BI = the block
/// barely turns the residual stream, the first candidate to remove. Measured in one pass through the hook seam.
/// </summary>
public static class BlockInfluence
{
    /// <param name="plan">Layers already removed (a pruning search measures the pruned model); null: the whole model.</param>
    public static double[] Measure(ForwardRunner model, IEnumerable<int[]> sequences, LayerPlan? plan = null)
    {
        int layers = model.Config.LayerCount;
        var hook = new Collector(layers);
        var options = new ForwardOptions { Plan = plan, Hooks = [hook] };
        foreach (var seq in sequences) model.Prefill(seq, 0, model.CreateDenseCache(seq.Length), options);
        return hook.Sum.Select((s, l) => hook.Count[l] == 0 ? double.NaN : 1 - s / hook.Count[l]).ToArray();
    }

    sealed class Collector(int layers) : IForwardHook
    {
        public readonly double[] Sum = new double[layers];
        public readonly long[] Count = new long[layers];
        float[] _input = [];

        public bool Wants(ActivationSite site, int layer) => site is ActivationSite.LayerInput or ActivationSite.Residual;

        public void OnActivation(ActivationSite site, int layer, ForwardStage stage, int startPos, int count, int width, Span<float> values)
        {
            if (site == ActivationSite.LayerInput) { _input = values.ToArray(); return; }
            for (int j = 0; j < count; j++)
            {
                var a = _input.AsSpan(j * width, width);
                var b = values.Slice(j * width, width);
                Sum[layer] += System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(a, b);
                Count[layer]++;
            }
        }
    }
}
