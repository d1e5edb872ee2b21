namespace Sieve.Models.Operators;

/// <summary>The attention projections of a block, each an operator a method may replace.</summary>
public enum Projection { Q, K, V, O }
