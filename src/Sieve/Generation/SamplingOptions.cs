namespace Sieve.Generation;

/// <summary>How the next token is chosen. Temperature 0 means greedy (argmax).</summary>
public sealed record SamplingOptions
{
    public float Temperature { get; init; } = 0.8f;
    /// <summary>Keep the K most likely tokens; 0 disables.</summary>
    public int TopK { get; init; } = 40;
    /// <summary>Keep the smallest set whose probability exceeds P; 1 disables.</summary>
    public float TopP { get; init; } = 0.95f;
    /// <summary>Drop tokens less likely than MinP × the most likely one; 0 disables.</summary>
    public float MinP { get; init; } = 0.05f;
    /// <summary>Divide positive logits (multiply negative) of recently seen tokens by this; 1 disables.</summary>
    public float RepeatPenalty { get; init; } = 1.0f;
    public int RepeatLastN { get; init; } = 64;
    /// <summary>OpenAI's presence_penalty: subtract this from the logit of every token the reply already holds; 0 disables, -2 to 2.</summary>
    public float PresencePenalty { get; init; }
    /// <summary>OpenAI's frequency_penalty: subtract this × how often the reply already holds a token from its logit; 0 disables, -2 to 2.</summary>
    public float FrequencyPenalty { get; init; }
    public ulong? Seed { get; init; }
    /// <summary>Reproduce llama2.c's run.c sampler exactly (its RNG, softmax and nucleus rule); uses Temperature and TopP only.</summary>
    public bool Llama2cCompatible { get; init; }

    public static SamplingOptions Greedy { get; } = new() { Temperature = 0 };

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the first setting that means nothing: a NaN temperature would
    /// turn every probability into NaN, a penalty of 0 divides by zero, negative counts have no meaning.
    /// </summary>
    public void Validate()
    {
        if (!(float.IsFinite(Temperature) && Temperature >= 0)) throw new ArgumentException($"temperature {Temperature} must be a finite number, 0 (greedy) or more");
        if (TopK < 0) throw new ArgumentException($"top-k {TopK} must be 0 (off) or more");
        if (!(TopP is >= 0 and <= 1)) throw new ArgumentException($"top-p {TopP} must be from 0 to 1");
        if (!(MinP is >= 0 and <= 1)) throw new ArgumentException($"min-p {MinP} must be from 0 to 1");
        if (!(float.IsFinite(RepeatPenalty) && RepeatPenalty > 0)) throw new ArgumentException($"repeat penalty {RepeatPenalty} must be a finite number above 0 (1 = off)");
        if (RepeatLastN < 0) throw new ArgumentException($"repeat-last-n {RepeatLastN} must be 0 (off) or more");
        // OpenAI's range: at ±2 a token seen once moves by e² ≈ 7× in odds, already enough to break most loops.
        if (!(PresencePenalty is >= -2 and <= 2)) throw new ArgumentException($"presence penalty {PresencePenalty} must be from -2 to 2 (0 = off)");
        if (!(FrequencyPenalty is >= -2 and <= 2)) throw new ArgumentException($"frequency penalty {FrequencyPenalty} must be from -2 to 2 (0 = off)");
        if (Llama2cCompatible && (PresencePenalty != 0 || FrequencyPenalty != 0))
            throw new ArgumentException("presence and frequency penalties are not part of llama2.c's sampler: set them to 0 or turn off llama2.c compatibility");
    }
}
