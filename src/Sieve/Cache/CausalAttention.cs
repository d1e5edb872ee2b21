using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Sieve.Kernels;
using Sieve.Threading;

namespace Sieve.Cache;

/// <summary>
/// Exact causal softmax attention over position-major F32 rows (row p at p·kvDim): the dense cache's attention,
/// and the prefill attention of caches that compress only at the prefill/decode boundary.
/// </summary>
/// <remarks>
/// One work item is a query row and a KV head: the group's query heads walk the keys together in tiles of 256
/// positions, so each key and value row is read from memory once per group rather than once per query head
/// (eight times less traffic for Llama-3's GQA, which is what bounds decode at long contexts).
/// </remarks>
internal sealed unsafe class CausalAttention(KvCacheShape s, WorkerPool? pool) : IRangeWork
{
    const int Tile = 256;
    float[] _k = [], _v = [];
    int _start;
    float* _q, _out;
    readonly float _scale = 1f / MathF.Sqrt(s.HeadDim);
    [ThreadStatic] static float[]? t_scores, t_partial;

    /// <summary>Rows startPos.. of q (count × heads·headDim) attend to positions 0..their own of k and v.</summary>
    public void Run(float[] k, float[] v, int startPos, int count, ReadOnlySpan<float> q, Span<float> output)
    {
        int items = count * s.KvHeads;
        // Pinned for the whole parallel region: workers read q and write output through raw pointers.
        fixed (float* pq = q, po = output)
        {
            _k = k; _v = v; _start = startPos; _q = pq; _out = po;
            if (pool != null) pool.Run(this, items, grain: Math.Max(1, items / (pool.ThreadCount * 4)));
            else Execute(0, items);
            _q = _out = null;
        }
    }

    /// <summary>One (query row, KV head) pair per item: scores, softmax and weighted sum for each head of the group.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute(int startItem, int endItem)
    {
        int hd = s.HeadDim, kvDim = s.KvDim, qDim = s.Heads * hd, g = s.GroupSize;
        fixed (float* k = _k, v = _v)
        {
            for (int item = startItem; item < endItem; item++)
            {
                int row = item / s.KvHeads, kvh = item % s.KvHeads;
                int n = _start + row + 1;   // positions 0..pos
                if (t_scores == null || t_scores.Length < g * n) t_scores = new float[Math.Max(g * n, 4096)];
                if (t_partial == null || t_partial.Length < hd) t_partial = new float[Math.Max(hd, 256)];
                float* q = _q + row * qDim + kvh * g * hd, o = _out + row * qDim + kvh * g * hd;
                float* kh = k + kvh * hd, vh = v + kvh * hd;
                fixed (float* scores = t_scores, partial = t_partial)
                {
                    for (int t0 = 0; t0 < n; t0 += Tile)
                    {
                        int m = Math.Min(Tile, n - t0);
                        for (int h = 0; h < g; h++) Attention.Scores(q + h * hd, kh + (long)t0 * kvDim, kvDim, m, hd, _scale, scores + h * n + t0);
                    }
                    for (int h = 0; h < g; h++) Softmax.Apply(new Span<float>(scores + h * n, n));
                    for (int t0 = 0; t0 < n; t0 += Tile)
                    {
                        int m = Math.Min(Tile, n - t0);
                        for (int h = 0; h < g; h++)
                        {
                            if (t0 == 0)
                            {
                                Attention.WeightedSum(scores + h * n, vh, kvDim, m, hd, o + h * hd);
                                continue;
                            }
                            Attention.WeightedSum(scores + h * n + t0, vh + (long)t0 * kvDim, kvDim, m, hd, partial);
                            TensorPrimitives.Add(new ReadOnlySpan<float>(o + h * hd, hd), new ReadOnlySpan<float>(partial, hd), new Span<float>(o + h * hd, hd));
                        }
                    }
                }
            }
        }
    }
}
