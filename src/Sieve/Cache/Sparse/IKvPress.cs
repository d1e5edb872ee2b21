namespace Sieve.Cache.Sparse;

/// <summary>What a press, a store that works at the boundary (<see cref="IBoundaryStore"/>) or a selector head
/// (<see cref="IHeadSelector.OnBoundary"/>) sees of one KV head at the prefill/decode boundary.</summary>
/// <param name="WindowQueries">The last <paramref name="WindowRows"/> prefill queries of this head's GQA group: row r,
/// group head g at [(r·GroupSize + g)·HeadDim]; row r is at position Count − WindowRows + r.</param>
public sealed record PressInput(int Layer, int KvHead, IKvStore Store, float[] WindowQueries, int WindowRows, int GroupSize);

/// <summary>
/// kvpress's idea: at the prefill/decode boundary, score every cached token of each KV head and keep the best
/// (a token budget or a ratio, uniform or adaptive across heads). Evicted tokens are gone for good.
/// </summary>
public interface IKvPress
{
    string Name { get; }
    /// <summary>Writes one score per stored row (higher = keep; +∞ = must keep) into <paramref name="scores"/>.</summary>
    void Score(PressInput input, Span<float> scores);
}
