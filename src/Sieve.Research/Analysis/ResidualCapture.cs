using Sieve.Models;

namespace Sieve.Analysis;

/// <summary>
/// The residual stream at one position, read through the hook seam in one forward pass: slot 0 is the embedding
/// (block 0's input), slot l the output of block l−1. A removed block passes its input through.
/// </summary>
public sealed class ResidualCapture(int layers, int dim, int position) : IForwardHook
{
    public readonly float[][] States = Enumerable.Range(0, layers + 1).Select(_ => new float[dim]).ToArray();
    readonly bool[] _written = new bool[layers + 1];

    /// <summary>Copies each skipped block's input to its output slot; call after the pass.</summary>
    public void FillSkipped()
    {
        for (int l = 1; l < States.Length; l++)
            if (!_written[l]) States[l - 1].CopyTo(States[l], 0);
    }

    public bool Wants(ActivationSite site, int layer) => site == ActivationSite.Residual || (site == ActivationSite.LayerInput && layer == 0);

    public void OnActivation(ActivationSite site, int layer, ForwardStage stage, int startPos, int count, int width, Span<float> values)
    {
        int row = position - startPos;
        if (row < 0 || row >= count) return;
        int slot = site == ActivationSite.LayerInput ? 0 : layer + 1;
        values.Slice(row * width, width).CopyTo(States[slot]);
        _written[slot] = true;
    }
}
