using Sieve.Kernels;
using Sieve.Kernels.Sparse;
using Sieve.Threading;

namespace Sieve.Models.Operators;

/// <summary>
/// What an operator may use during one call: the runner's kernels (each holding its prepared activations), its
/// scratch, and the hooks of the segments whose rows the call carries. Owned by one <see cref="ForwardRunner"/>, so
/// used by one thread at a time; operators keep nothing of it between calls.
/// </summary>
public sealed class OperatorContext
{
    internal OperatorContext(WorkerPool pool, int maxRows, ModelConfig config, IRowHooks hooks)
    {
        Pool = pool;
        _hooks = hooks;
        _ffn = config.FfnDim;
        MatMul = new MatMul(pool);
        SparseInput = new SparseInputMatVec(pool);
        MaskedOutput = new MaskedOutputMatVec(pool);
        _hidden = new float[maxRows * config.FfnDim];
        _hidden2 = new float[maxRows * config.FfnDim];
        _scratch = new float[maxRows * Math.Max(Math.Max(config.Dim, config.QDim), config.FfnDim)];
    }

    public WorkerPool Pool { get; }
    public MatMul MatMul { get; }
    public SparseInputMatVec SparseInput { get; }
    public MaskedOutputMatVec MaskedOutput { get; }

    /// <summary>The layer being run.</summary>
    public int Layer { get; internal set; }

    readonly float[] _hidden, _hidden2, _scratch;
    readonly int _ffn;
    readonly IRowHooks _hooks;

    /// <summary>n rows of FFN width (the gate, then the activation), valid for the call.</summary>
    public Span<float> Hidden(int n) => _hidden.AsSpan(0, n * _ffn);

    /// <summary>n rows of FFN width (the up projection), valid for the call.</summary>
    public Span<float> Hidden2(int n) => _hidden2.AsSpan(0, n * _ffn);

    /// <summary>Scratch of <paramref name="length"/> floats (at most rows × max(dim, qDim, ffn)), for a masked copy of an input.</summary>
    public Span<float> Scratch(int length) => _scratch.AsSpan(0, length);

    /// <summary>Whether any hook of the rows in this call wants <paramref name="site"/> at this layer.</summary>
    public bool Wants(ActivationSite site) => _hooks.Wants(site, Layer);

    /// <summary>Shows the call's rows of <paramref name="site"/> to the hooks of the segments they belong to (they may write them).</summary>
    public void Emit(ActivationSite site, int width, Span<float> rows) => _hooks.Emit(site, Layer, width, rows);
}

/// <summary>The hooks of the segments whose rows an operator call carries (the runner knows which rows are whose).</summary>
internal interface IRowHooks
{
    bool Wants(ActivationSite site, int layer);
    void Emit(ActivationSite site, int layer, int width, Span<float> rows);
}
