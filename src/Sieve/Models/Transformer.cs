using Sieve.Cache;
using Sieve.Kernels;
using Sieve.Threading;

namespace Sieve.Models;

/// <summary>
/// A Llama-family decoder as loaded: its config, weights and RoPE tables. Immutable and safe to share between
/// threads: every per-call state (scratch, the matmul's prepared activations, logits) lives in a
/// <see cref="ForwardRunner"/>, and every per-sequence state (KV cache, position, plan, hooks) with the sequence.
/// </summary>
public sealed class Transformer(ModelConfig config, ModelWeights weights)
{
    public ModelConfig Config { get; } = config;
    public ModelWeights Weights { get; } = weights;

    /// <summary>RoPE tables shared by every runner of this model.</summary>
    internal Rope Rope { get; } = new(config);

    public DenseKvCache CreateDenseCache(int capacity, WorkerPool? pool) => new(KvCacheShape.Of(Config, capacity), pool);

    /// <summary>A cache of the given method (dense, self-indexing, Quest, a press …) for this model.</summary>
    public IKvCache CreateCache(KvCacheSpec spec, int capacity, WorkerPool? pool) => spec.Create(KvCacheShape.Of(Config, capacity), pool);
}
