using System.Numerics.Tensors;
using Sieve.Kernels;
using Sieve.Kernels.Sparse;
using Sieve.Models;
using Sieve.Models.Operators;

namespace Sieve.Sparsity;

/// <summary>
/// The FFN with thresholded activations. CATS/CHESS: act(x·W_gate) is zeroed where |act_i| &lt; θ_i; up is computed
/// only for the surviving channels, fused with the gate product (vmmsp), and down reads only their rows (spvmm).
/// TEAL: the FFN input and the down input are thresholded and every product reads only the rows of surviving
/// inputs. One row (decode) uses the sparse kernels; several rows run dense matmuls on the masked tensors.
/// </summary>
sealed class SparseFeedForward : IFeedForwardOperator
{
    readonly LayerWeights _w;
    readonly FfnActivation _act;
    readonly LayerThresholds _t;
    readonly int _layer;
    readonly SparsityStats _stats;
    readonly InputMajorWeight? _gateT, _upT, _downT;   // input-major copies, null when the sparse kernels are off or unneeded

    readonly bool _imOnly;   // several rows through the input-major copies too: the row-major weight is never read

    public SparseFeedForward(Transformer model, int layer, LayerThresholds t, SparsityStats stats, bool kernels, bool inputMajorOnly = false)
    {
        _imOnly = inputMajorOnly && kernels;
        _w = model.Weights.Layers[layer];
        _act = model.Blocks[layer].Activation;
        _t = t; _layer = layer; _stats = stats;
        if (!kernels) return;
        if (t.FfnInput > 0) { _gateT = model.InputMajor(_w.Gate); _upT = model.InputMajor(_w.Up); }
        if (t.Active(SparseSite.Gate) || t.DownInput > 0) _downT = model.InputMajor(_w.Down);
    }

    public long InputMajorBytes => (_gateT?.ByteLength ?? 0) + (_upT?.ByteLength ?? 0) + (_downT?.ByteLength ?? 0);

    public void Apply(OperatorContext ctx, ReadOnlySpan<float> x, int n, Span<float> output)
    {
        int dim = _w.Gate.Cols, ffn = _w.Gate.Rows;
        bool one = n == 1;
        long bytes = 0;

        // TEAL: the FFN input (of gate and up)
        var input = x[..(n * dim)];
        if (_t.FfnInput > 0)
        {
            var m = ctx.Scratch(n * dim);
            _stats.Add(_layer, SparseSite.FfnInput, ThresholdMask.Apply(input, _t.FfnInput, m), (long)n * dim);
            input = m;
        }

        var act = ctx.Hidden(n);
        var h = ctx.Hidden2(n);
        if (one && _gateT != null) { ctx.SparseInput.Apply(_gateT, input, act); bytes += ctx.SparseInput.LastBytesRead; }
        else if (_imOnly && _gateT != null) ctx.SparseInput.ApplyRows(_gateT, input, n, act);
        else { ctx.MatMul.Apply(_w.Gate, input, n, act); bytes += _w.Gate.ByteLength; }
        GatedActivation.Apply(_act, act);
        ctx.Emit(ActivationSite.GateAct, ffn, act);

        // CATS / CHESS: the gate mask, per channel or per layer
        bool gated = _t.Active(SparseSite.Gate);
        if (gated)
        {
            long zeros = _t.GateChannels is { } theta ? ThresholdMask.Apply(act, theta, act) : ThresholdMask.Apply(act, _t.Gate, act);
            _stats.Add(_layer, SparseSite.Gate, zeros, (long)n * ffn);
        }

        if (one && gated && _downT != null)
        {
            ctx.MaskedOutput.Apply(_w.Up, input, act, h);   // h = act ⊙ up, only where act survived
            bytes += ctx.MaskedOutput.LastBytesRead;
        }
        else
        {
            if (one && _upT != null) { ctx.SparseInput.Apply(_upT, input, h); bytes += ctx.SparseInput.LastBytesRead; }
            else if (_imOnly && _upT != null) ctx.SparseInput.ApplyRows(_upT, input, n, h);
            else { ctx.MatMul.Apply(_w.Up, input, n, h); bytes += _w.Up.ByteLength; }
            ctx.Emit(ActivationSite.Up, ffn, h);
            TensorPrimitives.Multiply(act, h, h);
        }
        ctx.Emit(ActivationSite.FfnAct, ffn, h);

        // TEAL: the down input
        if (_t.DownInput > 0)
            _stats.Add(_layer, SparseSite.DownInput, ThresholdMask.Apply(h, _t.DownInput, h), (long)n * ffn);

        if (one && _downT != null) { ctx.SparseInput.Apply(_downT, h, output); bytes += ctx.SparseInput.LastBytesRead; }
        else if (_imOnly && _downT != null) ctx.SparseInput.ApplyRows(_downT, h, n, output);
        else { ctx.MatMul.Apply(_w.Down, h, n, output); bytes += _w.Down.ByteLength; }
        if (one) _stats.AddDecodeBytes(bytes);
    }
}
