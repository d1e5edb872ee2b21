using Sieve.Cache;
using Sieve.Kernels;
using Sieve.Kernels.Sparse;
using Sieve.Models.Operators;
using Sieve.Tensors;
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

    /// <summary>Each layer's spec (norms, activation, window, RoPE, softmax scale), resolved once from the config.</summary>
    public IReadOnlyList<BlockSpec> Blocks => _blocks;
    readonly BlockSpec[] _blocks = BlockSpec.Resolve(config);

    /// <summary>
    /// The dense operators each layer computes with, chosen from its spec (SwiGLU or GeGLU); a request may bring
    /// others through <see cref="ForwardOptions.Operators"/>.
    /// </summary>
    public IOperatorSet Operators => _operators;
    readonly DenseOperators _operators = new(weights, BlockSpec.Resolve(config));

    sealed class DenseOperators : IOperatorSet
    {
        readonly LayerOperators[] _layers;

        public DenseOperators(ModelWeights w, BlockSpec[] blocks) =>
            _layers = [.. w.Layers.Select((lw, l) => new LayerOperators(
                new DenseLinear(lw.Wq), new DenseLinear(lw.Wk), new DenseLinear(lw.Wv), new DenseLinear(lw.Wo),
                new DenseFeedForward(lw, blocks[l].Activation)))];

        public LayerOperators For(int layer) => _layers[layer];
    }

    /// <summary>
    /// The input-major copy of <paramref name="w"/> (one of this model's weights) that sparse-input kernels read, made on
    /// first use and kept for the model's life; <see cref="InputMajorBytes"/> counts what they cost.
    /// </summary>
    public InputMajorWeight InputMajor(WeightTensor w) =>
        _inputMajor.GetOrAdd(w, static w => new Lazy<InputMajorWeight>(() => InputMajorWeight.From(w))).Value;

    /// <summary>Memory held by input-major copies so far.</summary>
    public long InputMajorBytes => _inputMajor.Values.Where(v => v.IsValueCreated).Sum(v => v.Value.ByteLength);

    readonly System.Collections.Concurrent.ConcurrentDictionary<WeightTensor, Lazy<InputMajorWeight>> _inputMajor = new(ReferenceEqualityComparer.Instance);

    /// <summary>RoPE tables per layer, shared by every runner of this model (one table per distinct base and scaling).</summary>
    internal Rope[] Ropes { get; } = BuildRopes(config, BlockSpec.Resolve(config));

    static Rope[] BuildRopes(ModelConfig c, BlockSpec[] blocks)
    {
        var distinct = new List<Rope>();
        var ropes = new Rope[c.LayerCount];
        for (int l = 0; l < ropes.Length; l++)
        {
            var r = new Rope(c, blocks[l]);
            ropes[l] = distinct.FirstOrDefault(d => d.SameAs(r)) ?? r;
            if (ReferenceEquals(ropes[l], r)) distinct.Add(r);
        }
        return ropes;
    }

    /// <summary>This model's identity for files fitted to it (A²ATS codebooks): config, RoPE and two K projections hashed, once.</summary>
    public string Fingerprint => _fingerprint ??= Cache.A2ats.ModelFingerprint.Of(Config, Weights);
    string? _fingerprint;

    /// <summary>The shape of this model's caches: sizes, windows, soft-cap and each layer's RoPE.</summary>
    public KvCacheShape CacheShape(int capacity) => KvCacheShape.Of(Config, capacity) with { Ropes = Ropes };

    public DenseKvCache CreateDenseCache(int capacity, WorkerPool? pool) => new(CacheShape(capacity), pool);

    /// <summary>A cache of the given method (dense, self-indexing, Quest, a press …) for this model.</summary>
    public IKvCache CreateCache(KvCacheSpec spec, int capacity, WorkerPool? pool)
    {
        spec.Codebooks?.Validate(Config, Fingerprint);   // codebooks fitted to another model would rank by noise
        return spec.Create(CacheShape(capacity), pool);
    }
}
