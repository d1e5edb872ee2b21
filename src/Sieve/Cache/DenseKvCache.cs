using Sieve.Models;
using Sieve.Threading;

namespace Sieve.Cache;

/// <summary>The plain cache: F32 keys and values, position-major per layer, and exact softmax attention.</summary>
public sealed class DenseKvCache : IKvCache
{
    readonly KvCacheShape _shape;
    readonly float[][] _k, _v;      // [layer][pos * kvDim + kvHead * headDim + d]
    readonly CausalAttention _attention;
    int _length;

    public DenseKvCache(KvCacheShape shape, WorkerPool? pool = null)
    {
        _shape = shape;
        _k = new float[shape.Layers][];
        _v = new float[shape.Layers][];
        long perLayer = (long)shape.Capacity * shape.KvDim;
        if (perLayer > Array.MaxLength) throw new ArgumentException($"KV cache of {shape.Capacity} positions is too large for one array");
        for (int l = 0; l < shape.Layers; l++)
        {
            _k[l] = new float[perLayer];
            _v[l] = new float[perLayer];
        }
        _attention = new CausalAttention(shape, pool);
    }

    public int Length => _length;
    public int Capacity => _shape.Capacity;
    public long Bytes => 2L * _shape.Layers * _shape.Capacity * _shape.KvDim * sizeof(float);

    public KvMemory Memory => new(Bytes, 2.0 * _shape.Layers * _shape.KvDim * sizeof(float), _shape.Layers, _shape.KvHeads);

    public void Append(int layer, ForwardStage stage, int startPos, int count, ReadOnlySpan<float> k, ReadOnlySpan<float> v)
    {
        if (startPos + count > Capacity) throw new InvalidOperationException($"KV cache holds {Capacity} positions; position {startPos + count - 1} does not fit");
        int kvDim = _shape.KvDim;
        k[..(count * kvDim)].CopyTo(_k[layer].AsSpan(startPos * kvDim));
        v[..(count * kvDim)].CopyTo(_v[layer].AsSpan(startPos * kvDim));
        if (layer == _shape.Layers - 1 || startPos + count > _length) _length = Math.Max(_length, startPos + count);
    }

    public void Attend(int layer, ForwardStage stage, int startPos, int count, ReadOnlySpan<float> q, Span<float> output) =>
        _attention.Run(_k[layer], _v[layer], startPos, count, q, output);

    /// <summary>A layer's keys, position-major (p·kvDim + kvHead·headDim + d), for metrics that need the exact ones.</summary>
    public ReadOnlySpan<float> Keys(int layer) => _k[layer].AsSpan(0, _length * _shape.KvDim);

    public void Truncate(int length) => _length = Math.Clamp(length, 0, _length);

    /// <summary>
    /// Takes positions 0..<paramref name="length"/>-1 of every layer from <paramref name="source"/> (llama.cpp's
    /// <c>seq_cp</c>): a sequence whose prompt starts like another's skips prefilling the shared part. A copy, not a
    /// reference, so either sequence may go on, truncate or end on its own.
    /// </summary>
    public void CopyPrefixFrom(DenseKvCache source, int length)
    {
        if (source._shape.Layers != _shape.Layers || source._shape.KvDim != _shape.KvDim)
            throw new ArgumentException("the source cache belongs to a model of another shape");
        if ((uint)length > (uint)source._length || length > Capacity)
            throw new ArgumentOutOfRangeException(nameof(length), $"cannot copy {length} positions (the source holds {source._length}, this cache {Capacity})");
        int n = length * _shape.KvDim;
        for (int l = 0; l < _shape.Layers; l++)
        {
            source._k[l].AsSpan(0, n).CopyTo(_k[l]);
            source._v[l].AsSpan(0, n).CopyTo(_v[l]);
        }
        _length = length;
    }
}
