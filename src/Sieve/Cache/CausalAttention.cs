using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Sieve.Kernels;
using Sieve.Threading;

namespace Sieve.Cache;

/// <summary>
/// Exact causal softmax attention over position-major F32 rows (row p at p·kvDim, or at (p mod R)·kvDim in a ring of
/// R rows): the dense cache's attention, and the prefill attention of caches that compress only at the prefill/decode
/// boundary. A sliding layer's query at p sees p − W + 1..p; with the shape's soft-cap c, each score s (already
/// scaled by 1/√headDim) becomes c·tanh(s / c) before the softmax (Gemma 2).
/// </summary>
/// <remarks>
/// One work item is a query row and a KV head: the group's query heads walk the keys together in tiles of 256
/// positions, so each key and value row is read from memory once per group rather than once per query head
/// (eight times less traffic for Llama-3's GQA, which is what bounds decode at long contexts). A tile never crosses
/// the ring's end, so a wrapped window is two runs of contiguous rows. Without window, ring or soft-cap the tiles and
/// the summation order are exactly those of the plain causal loop (the oracle tests compare with llama.cpp to the token).
/// </remarks>
internal sealed unsafe class CausalAttention(KvCacheShape s, WorkerPool? pool) : IRangeWork
{
    const int Tile = 256;
    float[] _k = [], _v = [];
    int _start, _window, _ring;
    float* _q, _out;
    readonly float _scale = 1f / MathF.Sqrt(s.HeadDim);
    readonly float _cap = s.AttnSoftcap;
    [ThreadStatic] static float[]? t_scores, t_partial;

    /// <summary>
    /// Rows startPos.. of q (count × heads·headDim) attend to positions FirstVisible..their own of k and v:
    /// 0.. when <paramref name="window"/> is 0, p − window + 1.. otherwise. <paramref name="ring"/> &gt; 0: k and v hold
    /// position p at row p mod ring (the caller guarantees every visible position is still there).
    /// </summary>
    public void Run(float[] k, float[] v, int startPos, int count, ReadOnlySpan<float> q, Span<float> output, int window = 0, int ring = 0)
    {
        int items = count * s.KvHeads;
        // Pinned for the whole parallel region: workers read q and write output through raw pointers.
        fixed (float* pq = q, po = output)
        {
            _k = k; _v = v; _start = startPos; _window = window; _ring = ring; _q = pq; _out = po;
            if (pool != null) pool.Run(this, items, grain: Math.Max(1, items / (pool.ThreadCount * 4)));
            else Execute(0, items);
            _q = _out = null;
        }
    }

    /// <summary>One (query row, KV head) pair per item: scores, softmax and weighted sum for each head of the group.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute(int startItem, int endItem)
    {
        int hd = s.HeadDim, kvDim = s.KvDim, qDim = s.Heads * hd, g = s.GroupSize, ring = _ring;
        fixed (float* k = _k, v = _v)
        {
            for (int item = startItem; item < endItem; item++)
            {
                int row = item / s.KvHeads, kvh = item % s.KvHeads;
                int pos = _start + row;
                int lo = _window > 0 ? Math.Max(0, pos - _window + 1) : 0;
                int n = pos - lo + 1;   // positions lo..pos; score i belongs to position lo + i
                if (t_scores == null || t_scores.Length < g * n) t_scores = new float[Math.Max(g * n, 4096)];
                if (t_partial == null || t_partial.Length < hd) t_partial = new float[Math.Max(hd, 256)];
                float* q = _q + row * qDim + kvh * g * hd, o = _out + row * qDim + kvh * g * hd;
                float* kh = k + kvh * hd, vh = v + kvh * hd;
                fixed (float* scores = t_scores, partial = t_partial)
                {
                    for (int i0 = 0, m; i0 < n; i0 += m)
                    {
                        int slot = Slot(lo + i0, ring);
                        m = Math.Min(Tile, n - i0);
                        if (ring > 0) m = Math.Min(m, ring - slot);
                        for (int h = 0; h < g; h++) Attention.Scores(q + h * hd, kh + (long)slot * kvDim, kvDim, m, hd, _scale, scores + h * n + i0);
                    }
                    if (_cap > 0)
                        for (int h = 0; h < g; h++) Softcap.Apply(new Span<float>(scores + h * n, n), _cap);
                    for (int h = 0; h < g; h++) Softmax.Apply(new Span<float>(scores + h * n, n));
                    for (int i0 = 0, m; i0 < n; i0 += m)
                    {
                        int slot = Slot(lo + i0, ring);
                        m = Math.Min(Tile, n - i0);
                        if (ring > 0) m = Math.Min(m, ring - slot);
                        for (int h = 0; h < g; h++)
                        {
                            if (i0 == 0)
                            {
                                Attention.WeightedSum(scores + h * n, vh + (long)slot * kvDim, kvDim, m, hd, o + h * hd);
                                continue;
                            }
                            Attention.WeightedSum(scores + h * n + i0, vh + (long)slot * kvDim, kvDim, m, hd, partial);
                            TensorPrimitives.Add(new ReadOnlySpan<float>(o + h * hd, hd), new ReadOnlySpan<float>(partial, hd), new Span<float>(o + h * hd, hd));
                        }
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int Slot(int pos, int ring) => ring > 0 ? pos % ring : pos;
}
