using Sieve.Kernels.Sparse;
using Sieve.Models;
using Sieve.Models.Operators;

namespace Sieve.Sparsity;

/// <summary>
/// CATS, CHESS, CHESS+ or TEAL applied to a model: the operator set a request runs with
/// (<see cref="ForwardOptions.Operators"/>). Built once per thresholds file and shared; the input-major weight
/// copies its sparse kernels read are made here, at load, and cached by the model. What each run really zeroed is
/// counted in <see cref="Stats"/>.
/// </summary>
public sealed class ActivationSparsity : IOperatorSet
{
    readonly LayerOperators[] _layers;

    public ActivationThresholds Thresholds { get; }
    public SparsityStats Stats { get; }

    /// <summary>Whether single rows (decode) use the sparse kernels; off, every product is the dense matmul on the masked input.</summary>
    public bool SparseKernels { get; }

    /// <summary>Memory of the input-major copies this set reads (shared with any other set of the same model).</summary>
    public long InputMajorBytes { get; }

    /// <summary>
    /// Whether several rows (prefill, batched steps) also go through the input-major copies, one sparse product a row,
    /// so the row-major weights that have a copy are never read: the "drop the row-major copy" option. Prefill gets
    /// slower (no weight reuse across rows); memory-mapped weights that nothing reads cost no resident memory.
    /// </summary>
    public bool InputMajorOnly { get; }

    /// <summary>With <see cref="InputMajorOnly"/>: the row-major weight bytes this set never reads.</summary>
    public long RowMajorBytesUnread { get; }

    public ActivationSparsity(Transformer model, ActivationThresholds thresholds, SparsityStats? stats = null, bool sparseKernels = true, bool inputMajorOnly = false)
    {
        if (inputMajorOnly && !sparseKernels) throw new ArgumentException("the input-major copies only exist with the sparse kernels");
        InputMajorOnly = inputMajorOnly;
        thresholds.Validate(model.Config);
        Thresholds = thresholds;
        Stats = stats ?? new SparsityStats(model.Config.LayerCount);
        SparseKernels = sparseKernels;
        var copies = new HashSet<InputMajorWeight>(ReferenceEqualityComparer.Instance);
        var replaced = new HashSet<Tensors.WeightTensor>(ReferenceEqualityComparer.Instance);
        InputMajorWeight? Copy(Tensors.WeightTensor w)
        {
            if (!sparseKernels) return null;
            var im = model.InputMajor(w);
            copies.Add(im);
            replaced.Add(w);
            return im;
        }
        _layers = new LayerOperators[model.Config.LayerCount];
        for (int l = 0; l < _layers.Length; l++)
        {
            var lw = model.Weights.Layers[l];
            var t = thresholds.Layers[l];
            ILinearOperator Dense(Tensors.WeightTensor w) => new CountedLinear(w, Stats);
            ILinearOperator q, k, v, o;
            if (t.QkvInput > 0)
            {
                // TEAL: q, k and v read one thresholded input; it is counted once, at q.
                q = new ThresholdedLinear(lw.Wq, Copy(lw.Wq), t.QkvInput, l, SparseSite.QkvInput, countSite: true, Stats, inputMajorOnly);
                k = new ThresholdedLinear(lw.Wk, Copy(lw.Wk), t.QkvInput, l, SparseSite.QkvInput, countSite: false, Stats, inputMajorOnly);
                v = new ThresholdedLinear(lw.Wv, Copy(lw.Wv), t.QkvInput, l, SparseSite.QkvInput, countSite: false, Stats, inputMajorOnly);
            }
            else
            {
                // CHESS+: only q_proj's input; k_proj and v_proj stay dense because their errors are cached.
                q = t.QInput > 0 ? new ThresholdedLinear(lw.Wq, Copy(lw.Wq), t.QInput, l, SparseSite.QInput, countSite: true, Stats, inputMajorOnly) : Dense(lw.Wq);
                k = Dense(lw.Wk);
                v = Dense(lw.Wv);
            }
            o = t.OInput > 0 ? new ThresholdedLinear(lw.Wo, Copy(lw.Wo), t.OInput, l, SparseSite.OInput, countSite: true, Stats, inputMajorOnly) : Dense(lw.Wo);
            var ffn = new SparseFeedForward(model, l, t, Stats, sparseKernels, inputMajorOnly);
            if (sparseKernels)
            {
                if (t.FfnInput > 0) { Copy(lw.Gate); Copy(lw.Up); }
                if (t.Active(SparseSite.Gate) || t.DownInput > 0) Copy(lw.Down);
            }
            _layers[l] = new LayerOperators(q, k, v, o, ffn);
        }
        InputMajorBytes = copies.Sum(c => c.ByteLength);
        RowMajorBytesUnread = inputMajorOnly ? replaced.Sum(w => w.ByteLength) : 0;
    }

    public LayerOperators For(int layer) => _layers[layer];

    /// <summary><paramref name="options"/> (or the defaults) running with this set.</summary>
    public ForwardOptions Apply(ForwardOptions? options = null) => (options ?? ForwardOptions.Default) with { Operators = this };
}
