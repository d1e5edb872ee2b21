namespace Sieve.Models;

/// <summary>Prefill processes the prompt as a matrix; decode one new token at a time.</summary>
public enum ForwardStage { Prefill, Decode }
