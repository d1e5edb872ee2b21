using System.Numerics.Tensors;
using Sieve.Kernels;

namespace Sieve.Cache.Sparse;

/// <summary>
/// Exact softmax attention of one KV head's query group over a set of stored rows — a contiguous range or a list of
/// slots — reading each key and value once for all G query heads, in tiles converted to F32.
/// </summary>
internal sealed unsafe class GroupAttention
{
    const int Tile = 256;
    float[] _tile = [], _scores = [], _partial = [];

    /// <param name="slots">Rows to attend (ascending); null for the range [start, start + count).</param>
    /// <param name="q">G query heads, head dim apart; <paramref name="output"/> likewise.</param>
    /// <param name="softcap">Gemma 2's attention-logit cap c (score ← c·tanh(score / c) before the softmax); 0 for none.</param>
    public void Run(IKvStore store, int start, int count, List<int>? slots, float* q, int groups, float* output, float softcap = 0)
    {
        int hd = store.HeadDim, n = slots?.Count ?? count;
        if (n == 0)
        {
            new Span<float>(output, groups * hd).Clear();
            return;
        }
        if (_tile.Length < Tile * hd) _tile = new float[Tile * hd];
        if (_scores.Length < groups * n) _scores = new float[Math.Max(groups * n, _scores.Length * 2)];
        if (_partial.Length < hd) _partial = new float[hd];
        float scale = 1f / MathF.Sqrt(hd);
        fixed (float* tile = _tile, scores = _scores, partial = _partial)
        {
            for (int c0 = 0; c0 < n; c0 += Tile)
            {
                int m = Math.Min(Tile, n - c0);
                Gather(store, start, slots, c0, m, keys: true);
                for (int g = 0; g < groups; g++) Attention.Scores(q + g * hd, tile, hd, m, hd, scale, scores + g * n + c0);
            }
            if (softcap > 0)
            {
                // Keys read back as k − offset (a median-centred store) leave every score of head g short by
                // scale·q_g·offset: the same for all rows, so softmax would forgive it, but the cap would not.
                var offset = store.KeyOffset;
                for (int g = 0; g < groups; g++)
                {
                    var row = new Span<float>(scores + g * n, n);
                    if (!offset.IsEmpty) TensorPrimitives.Add(row, scale * TensorPrimitives.Dot(new ReadOnlySpan<float>(q + g * hd, hd), offset), row);
                    Softcap.Apply(row, softcap);
                }
            }
            for (int g = 0; g < groups; g++) Softmax.Apply(new Span<float>(scores + g * n, n));
            for (int c0 = 0; c0 < n; c0 += Tile)
            {
                int m = Math.Min(Tile, n - c0);
                Gather(store, start, slots, c0, m, keys: false);
                for (int g = 0; g < groups; g++)
                {
                    var o = new Span<float>(output + g * hd, hd);
                    if (c0 == 0) Attention.WeightedSum(scores + g * n, tile, hd, m, hd, output + g * hd);
                    else
                    {
                        Attention.WeightedSum(scores + g * n + c0, tile, hd, m, hd, partial);
                        TensorPrimitives.Add(o, new ReadOnlySpan<float>(partial, hd), o);
                    }
                }
            }
        }
    }

    /// <summary>Rows c0..c0+m of the set into the tile, in one gather (runs converted together, rows ahead prefetched).</summary>
    void Gather(IKvStore store, int start, List<int>? slots, int c0, int m, bool keys)
    {
        if (slots == null)
        {
            if (keys) store.ReadKeys(start + c0, m, _tile);
            else store.ReadValues(start + c0, m, _tile);
            return;
        }
        var selection = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(slots).Slice(c0, m);
        if (keys) store.GatherKeys(selection, _tile);
        else store.GatherValues(selection, _tile);
    }
}
