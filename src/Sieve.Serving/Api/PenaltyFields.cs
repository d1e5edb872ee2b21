using Sieve.Generation;

namespace Sieve.Serving.Api;

/// <summary>OpenAI's presence and frequency penalties onto the engine's sampling options (over the reply's own tokens, as OpenAI counts them).</summary>
static class PenaltyFields
{
    public static SamplingOptions Apply(SamplingOptions s, double presence, double frequency) =>
        s with { PresencePenalty = (float)presence, FrequencyPenalty = (float)frequency };
}
