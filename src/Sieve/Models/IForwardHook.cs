namespace Sieve.Models;

/// <summary>
/// Sees (and may change) every named intermediate of the forward pass. Probes read the residual stream, CHESS
/// zeroes activations in place, calibration collects statistics: all through this one seam, never by forking
/// the forward pass. When no hook is set the forward pass makes no calls.
/// </summary>
public interface IForwardHook
{
    /// <summary>Which sites this hook wants; the forward pass skips the call for others.</summary>
    bool Wants(ActivationSite site, int layer);

    /// <param name="values">count rows of <paramref name="width"/> values, for positions startPos…startPos+count-1; writable.</param>
    void OnActivation(ActivationSite site, int layer, ForwardStage stage, int startPos, int count, int width, Span<float> values);
}
