namespace Sieve.Cache.A2ats;

/// <summary>How k-means picks its first centroids.</summary>
public enum KMeansInit
{
    /// <summary>k-means++ (Arthur and Vassilvitskii 2007): each next centroid drawn with probability ∝ D(x)², the
    /// squared distance to the nearest one chosen so far. K passes over the points (one Lloyd iteration's work).</summary>
    PlusPlus,
    /// <summary>Forgy: K distinct points drawn uniformly. Free, but needs more Lloyd iterations to the same objective;
    /// for quick fits on synthetic keys.</summary>
    Forgy,
}

/// <summary>Settings of one k-means fit. The defaults are the A²ATS reference's (method notes §2.3).</summary>
public sealed record KMeansOptions
{
    /// <summary>K, the number of centroids (4096: 12-bit codes).</summary>
    public int Clusters { get; init; } = 4096;
    /// <summary>Most Lloyd updates (300, as the reference).</summary>
    public int MaxIterations { get; init; } = 300;
    /// <summary>Stop when the objective falls by less than this fraction in one iteration (1e-4).</summary>
    public double Tolerance { get; init; } = 1e-4;
    public KMeansInit Init { get; init; } = KMeansInit.PlusPlus;
    /// <summary>Seed of the initialisation; the same seed and data give the same centroids on any thread count.</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Threads for the point-parallel passes; 0: all the process may use.</summary>
    public int Threads { get; init; }

    public void Validate()
    {
        if (Clusters is < 1 or > 65536) throw new ArgumentException($"k-means: {Clusters} clusters is outside 1–65536 (codes are 16-bit)");
        if (MaxIterations < 0) throw new ArgumentException($"k-means: max iterations {MaxIterations} is negative");
        if (!(Tolerance >= 0) || double.IsInfinity(Tolerance)) throw new ArgumentException($"k-means: tolerance {Tolerance} is not a non-negative number");
        if (Threads < 0) throw new ArgumentException($"k-means: thread count {Threads} is negative");
    }
}

/// <summary>Progress of a fit: the stage ("init" or "lloyd"), how far it is, and the objective so far.</summary>
public readonly record struct KMeansProgress(string Stage, int Done, int Total, double Objective);
