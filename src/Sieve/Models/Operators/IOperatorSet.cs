namespace Sieve.Models.Operators;

/// <summary>
/// Which operators each layer computes with. The model's own set (<see cref="Transformer.Operators"/>, resolved from
/// the block specs at load) is dense; a method (CHESS, CATS, TEAL …) supplies another through
/// <see cref="ForwardOptions.Operators"/>, per request. Implementations are immutable and shared between threads;
/// all per-call state lives in the runner's <see cref="OperatorContext"/>.
/// </summary>
public interface IOperatorSet
{
    LayerOperators For(int layer);
}
