using System.Numerics.Tensors;
using Sieve.Cache;
using Sieve.Cache.Sparse;
using Sieve.Kernels;
using Sieve.Models;

namespace Sieve.Eval;

/// <summary>Per-layer means over decode steps of how closely a sparse cache's attention follows exact attention.</summary>
/// <param name="Recall">recall@K: the share of the selected tokens that are among the exact top-K (q̄·k over the same candidates, K = the number selected); NaN without a selector.</param>
/// <param name="Mass">The exact softmax probability mass on the tokens attended (selected, dense set, recent), averaged over query heads.</param>
/// <param name="Cosine">Cosine of the sparse and the exact attention outputs (all heads of the row).</param>
public sealed record LayerFidelity(int Layer, double Recall, double Mass, double Cosine, double AttendedTokens);

/// <summary>
/// Wraps a cache and runs exact attention beside it at every decode step on a shadow dense cache that receives the
/// same keys and values: the forward pass goes on with the wrapped cache's output, the wrapper only measures.
/// </summary>
public sealed class KvFidelity : IKvCache
{
    readonly IKvCache _inner;
    readonly DenseKvCache _shadow;
    readonly KvCacheShape _shape;
    readonly double[] _recall, _mass, _cosine, _attended;
    readonly int[] _steps, _recallSteps;
    float[] _exact = [];

    public KvFidelity(IKvCache inner, KvCacheShape shape)
    {
        _inner = inner;
        _shape = shape;
        _shadow = new DenseKvCache(shape);
        int L = shape.Layers;
        _recall = new double[L]; _mass = new double[L]; _cosine = new double[L]; _attended = new double[L];
        _steps = new int[L]; _recallSteps = new int[L];
    }

    public IKvCache Inner => _inner;
    public int Length => _inner.Length;
    public int Capacity => _inner.Capacity;
    public KvMemory Memory => _inner.Memory;

    public void Append(int layer, ForwardStage stage, int startPos, int count, ReadOnlySpan<float> k, ReadOnlySpan<float> v)
    {
        _inner.Append(layer, stage, startPos, count, k, v);
        _shadow.Append(layer, stage, startPos, count, k, v);
    }

    public void Attend(int layer, ForwardStage stage, int startPos, int count, ReadOnlySpan<float> q, Span<float> output)
    {
        _inner.Attend(layer, stage, startPos, count, q, output);
        if (stage != ForwardStage.Decode) return;
        int qDim = _shape.Heads * _shape.HeadDim;
        if (_exact.Length < count * qDim) _exact = new float[count * qDim];
        _shadow.Attend(layer, stage, startPos, count, q, _exact);
        for (int j = 0; j < count; j++)
            Measure(layer, startPos + j, q.Slice(j * qDim, qDim), output.Slice(j * qDim, qDim), _exact.AsSpan(j * qDim, qDim));
    }

    void Measure(int layer, int pos, ReadOnlySpan<float> q, ReadOnlySpan<float> sparse, ReadOnlySpan<float> exact)
    {
        _cosine[layer] += TensorPrimitives.CosineSimilarity(sparse, exact);
        _steps[layer]++;
        int hd = _shape.HeadDim, g = _shape.GroupSize;
        // A sliding layer's exact attention sees its window only (the shadow keeps it as a ring), soft-capped like the model's.
        int first = _shape.WindowLimits(layer) ? _shape.FirstVisible(layer, pos) : 0;
        var p = new float[pos + 1 - first];
        double mass = 0, attended = 0, recall = 0;
        int recallHeads = 0;
        for (int h = 0; h < _shape.KvHeads; h++)
        {
            var (candidates, selected, always) = Attended(layer, h, pos);
            var seen = new HashSet<int>(selected.Concat(always));
            attended += seen.Count;
            for (int i = 0; i < g; i++)
            {
                var qh = q.Slice((h * g + i) * hd, hd);
                for (int t = first; t <= pos; t++) p[t - first] = TensorPrimitives.Dot(qh, _shadow.KeyRow(layer, t).Slice(h * hd, hd)) / MathF.Sqrt(hd);
                if (_shape.AttnSoftcap > 0) Softcap.Apply(p, _shape.AttnSoftcap);
                Softmax.Apply(p);
                foreach (int t in seen) if (t >= first) mass += p[t - first];
            }
            if (candidates != null && selected.Length > 0)
            {
                // The exact top-|selected| of the same candidates by the same GQA-averaged query.
                var qbar = new float[hd];
                _shape.GroupMean(q, h, qbar);
                var exactScores = new float[candidates.Length];
                for (int c = 0; c < candidates.Length; c++) exactScores[c] = TensorPrimitives.Dot(qbar, _shadow.KeyRow(layer, candidates[c]).Slice(h * hd, hd));
                var best = TopK.SelectScalar(exactScores, selected.Length).Select(i => candidates[i]).ToHashSet();
                recall += selected.Count(best.Contains) / (double)selected.Length;
                recallHeads++;
            }
        }
        _mass[layer] += mass / _shape.Heads;
        _attended[layer] += attended / _shape.KvHeads;
        if (recallHeads > 0) { _recall[layer] += recall / recallHeads; _recallSteps[layer]++; }
    }

    (int[]? Candidates, int[] Selected, int[] Always) Attended(int layer, int kvHead, int pos)
    {
        if (_shape.WindowLimits(layer))   // every cache serves a sliding layer by exact attention over its window
        {
            int first = _shape.FirstVisible(layer, pos);
            return (null, [], Enumerable.Range(first, pos + 1 - first).ToArray());
        }
        if (_inner is ISelectionTrace trace && trace.LastSelection(layer, kvHead) is { } r && r.Position == pos)
            return (r.Candidates, r.Selected, r.Always);
        if (_inner is SparseKvCache sparse)
        {
            var store = sparse.Store(layer, kvHead);
            return (null, [], Enumerable.Range(0, store.CountUpTo(pos)).Select(store.PositionOf).ToArray());
        }
        return (null, [], Enumerable.Range(0, pos + 1).ToArray());   // dense
    }

    public void Truncate(int length)
    {
        _inner.Truncate(length);
        _shadow.Truncate(length);
    }

    public IReadOnlyList<LayerFidelity> Layers() => Enumerable.Range(0, _shape.Layers).Select(l => new LayerFidelity(l,
        _recallSteps[l] > 0 ? _recall[l] / _recallSteps[l] : double.NaN,
        _steps[l] > 0 ? _mass[l] / _steps[l] : double.NaN,
        _steps[l] > 0 ? _cosine[l] / _steps[l] : double.NaN,
        _steps[l] > 0 ? _attended[l] / _steps[l] : double.NaN)).ToList();
}
