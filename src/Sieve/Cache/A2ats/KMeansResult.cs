namespace Sieve.Cache.A2ats;

/// <summary>The outcome of a k-means fit.</summary>
public sealed class KMeansResult
{
    public required int Clusters { get; init; }
    public required int Dim { get; init; }
    /// <summary>K × d, row-major.</summary>
    public required float[] Centroids { get; init; }
    /// <summary>Each point's nearest centroid under <see cref="Centroids"/>.</summary>
    public required int[] Assignments { get; init; }
    /// <summary>Σ‖x − c(x)‖² (double, exact to the assigned centroid) after each assignment step: the initial
    /// centroids' first, then one per Lloyd update. Never increases.</summary>
    public required IReadOnlyList<double> Objectives { get; init; }
    /// <summary>Lloyd updates done.</summary>
    public required int Iterations { get; init; }
    /// <summary>Stopped by the tolerance or because no assignment changed, not by the iteration cap.</summary>
    public required bool Converged { get; init; }
    /// <summary>Empty clusters re-seeded from the point farthest from its centroid.</summary>
    public required int Reseeded { get; init; }
    /// <summary>Distinct centroids: below <see cref="Clusters"/> when the data has fewer distinct points than K
    /// (the rest repeat a centroid; ties go to the lowest index, so codes never use the repeats).</summary>
    public required int Distinct { get; init; }
    /// <summary>Milliseconds spent in initialisation and in all Lloyd iterations.</summary>
    public required double InitMs { get; init; }
    public required double LloydMs { get; init; }

    public double Objective => Objectives[^1];

    /// <summary>One line for logs: K, iterations, objective, and anything unusual.</summary>
    public override string ToString() =>
        $"k-means K={Clusters} d={Dim}: {Iterations} iterations ({(Converged ? "converged" : "at the cap")}), objective {Objective:G6}" +
        (Reseeded > 0 ? $", {Reseeded} empty clusters re-seeded from the farthest points" : "") +
        (Distinct < Clusters ? $", only {Distinct} distinct centroids (fewer distinct points than K)" : "") +
        $", init {InitMs:F0} ms, Lloyd {LloydMs:F0} ms";
}
