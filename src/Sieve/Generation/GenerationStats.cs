namespace Sieve.Generation;

/// <summary>Timings of the last generation, as llama.cpp reports them.</summary>
/// <param name="CachedTokens">Prompt tokens the sequence already held from an earlier turn (not prefilled again).</param>
public sealed record GenerationStats(int PromptTokens, double PrefillSeconds, int GeneratedTokens, double DecodeSeconds, string StopReason, int CachedTokens = 0)
{
    /// <summary>Prompt tokens this request ran through the model.</summary>
    public int PrefilledTokens => PromptTokens - CachedTokens;

    public double PrefillTokensPerSecond => PrefillSeconds > 0 ? PrefilledTokens / PrefillSeconds : 0;
    public double DecodeTokensPerSecond => DecodeSeconds > 0 ? GeneratedTokens / DecodeSeconds : 0;

    public override string ToString() =>
        $"prompt {PromptTokens} tokens{(CachedTokens > 0 ? $" ({CachedTokens} cached)" : "")} in {PrefillSeconds * 1000:F1} ms ({PrefillTokensPerSecond:F1} t/s); " +
        $"generated {GeneratedTokens} tokens in {DecodeSeconds * 1000:F1} ms ({DecodeTokensPerSecond:F1} t/s); stop: {StopReason}";
}
