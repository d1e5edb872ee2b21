namespace Sieve.Models.Operators;

/// <summary>The operators one layer computes its projections and FFN with.</summary>
public sealed record LayerOperators(ILinearOperator Q, ILinearOperator K, ILinearOperator V, ILinearOperator O, IFeedForwardOperator FeedForward)
{
    public ILinearOperator this[Projection p] => p switch
    {
        Projection.Q => Q,
        Projection.K => K,
        Projection.V => V,
        Projection.O => O,
        _ => throw new ArgumentOutOfRangeException(nameof(p)),
    };
}
