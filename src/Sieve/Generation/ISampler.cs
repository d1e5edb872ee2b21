namespace Sieve.Generation;

/// <summary>Picks the next token from a row of logits. Samplers may scribble on the logits.</summary>
public interface ISampler
{
    int Sample(Span<float> logits, IReadOnlyList<int> history);

    public static ISampler Create(SamplingOptions o) =>
        o.Llama2cCompatible ? new Llama2cSampler(o) : new SamplerChain(o);
}
