namespace Sieve.Pruning;

/// <summary>The model after one more removal: which layers are gone, and what the read-out says then.</summary>
/// <param name="Nll">Mean negative log-likelihood per token of the calibration text, when one was given.</param>
public sealed record PruningStep(int Removed, IReadOnlyList<int> RemovedLayers, double Accuracy, double FinalMargin, int? TransitionLayer, double? Nll = null);
