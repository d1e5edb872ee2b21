namespace Sieve.Sparsity;

/// <summary>
/// One layer's magnitude thresholds: a value whose |x| is below its threshold is zeroed. 0 leaves a site dense
/// (no |x| is below 0). The gate may have one threshold per FFN channel (CHESS) or one for the layer (CATS).
/// </summary>
public sealed record LayerThresholds
{
    public float QInput { get; init; }
    public float QkvInput { get; init; }
    public float OInput { get; init; }
    public float FfnInput { get; init; }
    public float DownInput { get; init; }

    /// <summary>One |act(gate)| threshold for every channel (CATS); ignored when <see cref="GateChannels"/> is set.</summary>
    public float Gate { get; init; }

    /// <summary>CHESS: θ_i per FFN channel; null for a scalar gate threshold.</summary>
    public float[]? GateChannels { get; init; }

    public static readonly LayerThresholds Dense = new();

    public float Scalar(SparseSite site) => site switch
    {
        SparseSite.QInput => QInput,
        SparseSite.QkvInput => QkvInput,
        SparseSite.OInput => OInput,
        SparseSite.FfnInput => FfnInput,
        SparseSite.DownInput => DownInput,
        SparseSite.Gate => Gate,
        _ => throw new ArgumentOutOfRangeException(nameof(site)),
    };

    /// <summary>Whether this layer zeroes anything at <paramref name="site"/>.</summary>
    public bool Active(SparseSite site) => site == SparseSite.Gate ? GateChannels != null || Gate > 0 : Scalar(site) > 0;
}
