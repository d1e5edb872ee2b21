namespace Sieve.A2ats;

/// <summary>What <c>sieve a2ats calibrate</c> fits; defaults are the reference code's (method notes §2.3).</summary>
public sealed record A2atsCalibrationSettings
{
    /// <summary>K, codes per (layer, KV head): 4096 gives 12-bit codes.</summary>
    public int Centroids { get; init; } = 4096;
    /// <summary>W, the distance every calibration query is rotated to (and every decode query at run time).</summary>
    public int Window { get; init; } = 2048;
    /// <summary>Tokens of the built-in random-UUID text (the reference's 16K).</summary>
    public int UuidTokens { get; init; } = 16384;
    /// <summary>Lloyd iterations at most (the reference's max_iter) and the relative objective change that ends them.</summary>
    public int MaxIterations { get; init; } = 300;
    public double Tolerance { get; init; } = 1e-4;
    /// <summary>Keys per (layer, KV head) k-means runs on at most (a seeded sample beyond it); 0: all of them.</summary>
    public int MaxKeys { get; init; }
    public int Seed { get; init; } = 1;
    /// <summary>False: plain k-means on the keys (H = I), the baseline the query-aware fit improves on (an ablation).</summary>
    public bool QueryAware { get; init; } = true;
}
