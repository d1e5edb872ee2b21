namespace Sieve.Pruning;

/// <summary>
/// What Iterative Pruning maximises when it picks the next layer to remove. The paper's own criterion is not
/// public (method notes §1.2), so the choice is explicit and named in every report.
/// </summary>
public enum PruningCriterion
{
    /// <summary>Task accuracy of the last-layer read-out; ties by mean final Decision Margin.</summary>
    Accuracy,
    /// <summary>Mean final Decision Margin; ties by accuracy.</summary>
    Margin,
    /// <summary>SLEB's: the lowest negative log-likelihood of calibration text.</summary>
    Nll,
}

public static class PruningCriterionNames
{
    public static string Describe(this PruningCriterion c) => c switch
    {
        PruningCriterion.Accuracy => "task accuracy from the last-layer read-out; ties by mean final Decision Margin, then lower layer index",
        PruningCriterion.Margin => "mean final Decision Margin; ties by task accuracy, then lower layer index",
        _ => "calibration negative log-likelihood (SLEB); ties by lower layer index",
    };

    public static PruningCriterion Parse(string s) => s.ToLowerInvariant() switch
    {
        "accuracy" or "acc" => PruningCriterion.Accuracy,
        "margin" => PruningCriterion.Margin,
        "nll" or "ppl" => PruningCriterion.Nll,
        _ => throw new ArgumentException($"unknown pruning score '{s}' (accuracy, margin, nll)"),
    };
}
