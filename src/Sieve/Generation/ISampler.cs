namespace Sieve.Generation;

/// <summary>Picks the next token from a row of logits. Samplers may scribble on the logits.</summary>
public interface ISampler
{
    /// <param name="history">The prompt, then the tokens generated so far (the repetition penalty's window spans both).</param>
    /// <param name="generated">How many tokens at the end of <paramref name="history"/> this request generated (the presence and frequency penalties count only those).</param>
    int Sample(Span<float> logits, IReadOnlyList<int> history, int generated);

    public static ISampler Create(SamplingOptions o) =>
        o.Llama2cCompatible ? new Llama2cSampler(o) : new SamplerChain(o);
}
