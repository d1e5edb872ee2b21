using Sieve.Generation;

namespace Sieve.Serving.Api;

/// <summary>OpenAI's presence and frequency penalties onto the engine's sampling options.</summary>
static class PenaltyFields
{
    public static SamplingOptions Apply(SamplingOptions s, double presence, double frequency)
    {
        if (presence == 0 && frequency == 0) return s;
        throw ApiException.Invalid("presence_penalty and frequency_penalty are not supported yet", presence != 0 ? "presence_penalty" : "frequency_penalty");
    }
}
