using System.Runtime.CompilerServices;
using Sieve.Kernels;
using Sieve.Threading;

namespace Sieve.Cache;

/// <summary>The plain cache: F32 keys and values, position-major per layer, and exact softmax attention.</summary>
public sealed class DenseKvCache : IKvCache
{
    readonly KvCacheShape _shape;
    readonly float[][] _k, _v;      // [layer][pos * kvDim + kvHead * headDim + d]
    readonly WorkerPool? _pool;
    readonly AttentionWork _work;
    int _length;

    public DenseKvCache(KvCacheShape shape, WorkerPool? pool = null)
    {
        _shape = shape;
        _pool = pool;
        _k = new float[shape.Layers][];
        _v = new float[shape.Layers][];
        long perLayer = (long)shape.Capacity * shape.KvDim;
        if (perLayer > Array.MaxLength) throw new ArgumentException($"KV cache of {shape.Capacity} positions is too large for one array");
        for (int l = 0; l < shape.Layers; l++)
        {
            _k[l] = new float[perLayer];
            _v[l] = new float[perLayer];
        }
        _work = new AttentionWork(shape);
    }

    public int Length => _length;
    public int Capacity => _shape.Capacity;
    public long Bytes => 2L * _shape.Layers * _shape.Capacity * _shape.KvDim * sizeof(float);

    public void Append(int layer, int startPos, int count, ReadOnlySpan<float> k, ReadOnlySpan<float> v)
    {
        if (startPos + count > Capacity) throw new InvalidOperationException($"KV cache holds {Capacity} positions; position {startPos + count - 1} does not fit");
        int kvDim = _shape.KvDim;
        k[..(count * kvDim)].CopyTo(_k[layer].AsSpan(startPos * kvDim));
        v[..(count * kvDim)].CopyTo(_v[layer].AsSpan(startPos * kvDim));
        if (layer == _shape.Layers - 1 || startPos + count > _length) _length = Math.Max(_length, startPos + count);
    }

    public void Attend(int layer, int startPos, int count, ReadOnlySpan<float> q, Span<float> output)
    {
        int items = count * _shape.Heads;
        unsafe
        {
            // Pinned for the whole parallel region: workers read q and write output through raw pointers.
            fixed (float* pq = q, po = output)
            {
                _work.Set(_k[layer], _v[layer], startPos, count, pq, po);
                if (_pool != null) _pool.Run(_work, items, grain: Math.Max(1, items / (_pool.ThreadCount * 4)));
                else _work.Execute(0, items);
            }
        }
    }

    public void Truncate(int length) => _length = Math.Clamp(length, 0, _length);

    /// <summary>One (query row, head) pair per item: scores, softmax, weighted sum of values.</summary>
    sealed unsafe class AttentionWork(KvCacheShape s) : IRangeWork
    {
        float[] _k = [], _v = [];
        int _start, _count;
        float* _q, _out;
        readonly float _scale = 1f / MathF.Sqrt(s.HeadDim);
        [ThreadStatic] static float[]? t_scores;

        public void Set(float[] k, float[] v, int start, int count, float* q, float* output)
        {
            _k = k; _v = v; _start = start; _count = count; _q = q; _out = output;
        }

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
}
