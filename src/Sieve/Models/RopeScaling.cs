namespace Sieve.Models;

/// <summary>Llama 3.1's frequency-dependent RoPE scaling (<c>rope_type: "llama3"</c>).</summary>
public sealed record RopeScaling(double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalContextLength);
