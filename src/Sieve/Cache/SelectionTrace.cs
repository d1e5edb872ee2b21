namespace Sieve.Cache;

/// <summary>
/// What a sparse cache attended to for one (layer, KV head) at its last decode step, in positions: the candidates it
/// scored, the top-K it picked from them, and the tokens it attends to regardless (dense set, sinks, recent).
/// Fidelity metrics compare these against exact attention.
/// </summary>
public sealed record SelectionRecord(int Position, int[] Candidates, int[] Selected, int[] Always);

/// <summary>Implemented by caches that can report their selections (when asked to, at construction).</summary>
public interface ISelectionTrace
{
    /// <summary>The record of the last decode-stage row for this layer and KV head, or null before any.</summary>
    SelectionRecord? LastSelection(int layer, int kvHead);
}
