namespace Sieve.Generation;

/// <summary>Timings of the last generation, as llama.cpp reports them.</summary>
public sealed record GenerationStats(int PromptTokens, double PrefillSeconds, int GeneratedTokens, double DecodeSeconds, string StopReason)
{
    public double PrefillTokensPerSecond => PrefillSeconds > 0 ? PromptTokens / PrefillSeconds : 0;
    public double DecodeTokensPerSecond => DecodeSeconds > 0 ? GeneratedTokens / DecodeSeconds : 0;

    public override string ToString() =>
        $"prompt {PromptTokens} tokens in {PrefillSeconds * 1000:F1} ms ({PrefillTokensPerSecond:F1} t/s); " +
        $"generated {GeneratedTokens} tokens in {DecodeSeconds * 1000:F1} ms ({DecodeTokensPerSecond:F1} t/s); stop: {StopReason}";
}
