using Sieve.Models;

namespace Sieve.Pruning;

/// <summary>
/// Resumes a forward pass from a stored residual stream through the hook seam: the stream (every position) replaces
/// the input of the first block that runs, and the stream leaving one chosen block is kept — all positions, or only
/// the last. With the blocks before the resume point skipped in the plan, a pass costs only the blocks after it.
/// </summary>
internal sealed class StateReplay(int dim) : IForwardHook
{
    public int InjectLayer = -1;
    public float[] State = [];          // positions × dim entering InjectLayer
    public int CaptureLayer = -1;
    public bool CaptureLastOnly;
    public float[] Captured = [];       // positions × dim (or dim) leaving CaptureLayer

    public bool Wants(ActivationSite site, int layer) =>
        (site == ActivationSite.LayerInput && layer == InjectLayer) || (site == ActivationSite.Residual && layer == CaptureLayer);

    public void OnActivation(ActivationSite site, int layer, ForwardStage stage, int startPos, int count, int width, Span<float> values)
    {
        if (site == ActivationSite.LayerInput)
        {
            State.AsSpan(startPos * dim, count * dim).CopyTo(values);
            return;
        }
        if (CaptureLastOnly)
        {
            int last = State.Length / dim - 1;
            if (last >= startPos && last < startPos + count) values.Slice((last - startPos) * dim, dim).CopyTo(Captured);
            return;
        }
        values[..(count * dim)].CopyTo(Captured.AsSpan(startPos * dim));
    }
}
