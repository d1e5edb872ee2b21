using System.Runtime.CompilerServices;
using Sieve.Kernels;
using Sieve.Threading;

namespace Sieve.Cache;

/// <summary>
/// Exact causal softmax attention over position-major F32 rows (row p at p·kvDim): the dense cache's attention,
/// and the prefill attention of caches that compress only at the prefill/decode boundary.
/// </summary>
internal sealed unsafe class CausalAttention(KvCacheShape s, WorkerPool? pool) : IRangeWork
{
    float[] _k = [], _v = [];
    int _start, _count;
    float* _q, _out;
    readonly float _scale = 1f / MathF.Sqrt(s.HeadDim);
    [ThreadStatic] static float[]? t_scores;

    /// <summary>Rows startPos.. of q (count × heads·headDim) attend to positions 0..their own of k and v.</summary>
    public void Run(float[] k, float[] v, int startPos, int count, ReadOnlySpan<float> q, Span<float> output)
    {
        int items = count * s.Heads;
        // Pinned for the whole parallel region: workers read q and write output through raw pointers.
        fixed (float* pq = q, po = output)
        {
            _k = k; _v = v; _start = startPos; _count = count; _q = pq; _out = po;
            if (pool != null) pool.Run(this, items, grain: Math.Max(1, items / (pool.ThreadCount * 4)));
            else Execute(0, items);
            _q = _out = null;
        }
    }

    /// <summary>One (query row, head) pair per item: scores, softmax, weighted sum of values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute(int startItem, int endItem)
    {
        int hd = s.HeadDim, kvDim = s.KvDim, qDim = s.Heads * hd;
        fixed (float* k = _k, v = _v)
        {
            for (int item = startItem; item < endItem; item++)
            {
                int row = item / s.Heads, h = item % s.Heads;
                int pos = _start + row;
                int kvh = h / s.GroupSize;
                var scores = (t_scores is { } ts && ts.Length >= pos + 1) ? ts : (t_scores = new float[Math.Max(pos + 1, 1024)]);
                fixed (float* att = scores)
                {
                    Attention.Scores(_q + row * qDim + h * hd, k + kvh * hd, kvDim, pos + 1, hd, _scale, att);
                    Softmax.Apply(new Span<float>(att, pos + 1));
                    Attention.WeightedSum(att, v + kvh * hd, kvDim, pos + 1, hd, _out + row * qDim + h * hd);
                }
            }
        }
    }
}
