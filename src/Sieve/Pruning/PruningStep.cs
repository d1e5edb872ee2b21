namespace Sieve.Pruning;

/// <summary>The model after one more removal: which layers are gone, and what the read-out says then.</summary>
public sealed record PruningStep(int Removed, IReadOnlyList<int> RemovedLayers, double Accuracy, double FinalMargin, int? TransitionLayer);
