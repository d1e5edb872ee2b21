using System.Numerics.Tensors;
using Sieve.Models;

namespace Sieve.Pruning;

/// <summary>
/// Gromov et al.'s block choice: for n blocks to remove, the start ℓ* minimising the mean angular distance
/// d = arccos(cos(h_ℓ, h_{ℓ+n}))/π between the residual stream entering block ℓ and leaving block ℓ+n−1, at the
/// last token of each sequence. The final block is never removed (their simple baseline keeps it too).
/// </summary>
public sealed class AngularDistance
{
    readonly List<float[][]> _states = [];   // per sequence: h_0 … h_L at its last token

    public static AngularDistance Measure(ForwardRunner model, IEnumerable<int[]> sequences, LayerPlan? plan = null)
    {
        var result = new AngularDistance();
        foreach (var seq in sequences)
        {
            var capture = new Analysis.ResidualCapture(model.Config.LayerCount, model.Config.Dim, seq.Length - 1);
            model.Prefill(seq, 0, model.CreateDenseCache(seq.Length), new ForwardOptions { Plan = plan, Hooks = [capture] });
            result._states.Add(capture.States);
        }
        return result;
    }

    /// <summary>Mean d(h_ℓ, h_{ℓ+n}) over the sequences.</summary>
    public double Distance(int start, int n) => _states.Average(h =>
        Math.Acos(Math.Clamp(TensorPrimitives.CosineSimilarity(h[start], h[start + n]), -1f, 1f)) / Math.PI);

    /// <summary>The n consecutive blocks, ending before the last one, whose removal changes the stream least.</summary>
    public IReadOnlyList<int> BestBlock(int n)
    {
        int layers = _states[0].Length - 1;
        if (n < 1 || n > layers - 1) throw new ArgumentOutOfRangeException(nameof(n), $"cannot remove {n} of {layers} blocks and keep the last");
        int best = 0;
        for (int s = 1; s + n <= layers - 1; s++) if (Distance(s, n) < Distance(best, n)) best = s;
        return Enumerable.Range(best, n).ToList();
    }
}
