using Sieve.Models;

namespace Sieve.Pruning;

/// <summary>
/// Keeps the residual stream leaving one chosen block — every position, or only the last — while a pruning search
/// advances a stored stream with <see cref="ForwardRunner.ResumeFromLayer"/>. With the blocks the search does not
/// want skipped in the plan, a pass costs only the blocks it runs.
/// </summary>
internal sealed class StateReplay(int dim) : IForwardHook
{
    public int CaptureLayer = -1;
    public bool CaptureLastOnly;
    /// <summary>Positions in the pass (the last one is what <see cref="CaptureLastOnly"/> keeps).</summary>
    public int Positions;
    public float[] Captured = [];       // positions × dim (or dim) leaving CaptureLayer

    public bool Wants(ActivationSite site, int layer) => site == ActivationSite.Residual && layer == CaptureLayer;

    public void OnActivation(ActivationSite site, int layer, ForwardStage stage, int startPos, int count, int width, Span<float> values)
    {
        if (CaptureLastOnly)
        {
            int last = Positions - 1;
            if (last >= startPos && last < startPos + count) values.Slice((last - startPos) * dim, dim).CopyTo(Captured);
            return;
        }
        values[..(count * dim)].CopyTo(Captured.AsSpan(startPos * dim));
    }
}
