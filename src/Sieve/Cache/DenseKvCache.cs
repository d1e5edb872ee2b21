using Sieve.Models;
using Sieve.Threading;

namespace Sieve.Cache;

/// <summary>
/// The plain cache: F32 keys and values per layer and exact softmax attention. A global layer keeps every position
/// in a position-major array of the whole capacity; a sliding layer whose window is shorter than the capacity keeps
/// a ring, position p at row p mod R, so its memory follows the window rather than the context.
/// </summary>
/// <remarks>
/// <para>A ring grows lazily to W − 1 + the largest chunk appended so far (a chunk of n rows needs the W − 1 keys
/// before its first row and its own n), never past the capacity: decode after 512-row prefill chunks holds W + 511
/// rows per sliding layer, whatever the context. Gemma 3 1B (window 512, one 256-wide KV head, 5 of 6 layers
/// sliding) then holds ~2 MB per sliding layer where a full array at 32K would hold 64 MB.</para>
/// <para>What a ring has overwritten cannot come back: <see cref="Truncate"/> to a length whose next query would
/// need an overwritten key (a cut further back than the ring's slack, the largest chunk size) drops the whole cache
/// to length 0 — the caller sees <see cref="Length"/> 0 and prefills again — rather than attend over stale rows.</para>
/// </remarks>
public sealed class DenseKvCache : IKvCache
{
    readonly KvCacheShape _shape;
    readonly float[][] _k, _v;      // [layer][row * kvDim + kvHead * headDim + d]; row = p (global) or p mod _ring[layer]
    readonly bool[] _sliding;       // the layer's window hides positions this cache can hold: a ring
    readonly bool[] _absent;        // no storage (a sparse cache's sliding store leaves its global layers to itself)
    readonly int[] _ring, _held, _end;   // ring layers: R rows; positions [_held, _end) are in the ring
    readonly CausalAttention _attention;
    int _length;

    public DenseKvCache(KvCacheShape shape, WorkerPool? pool = null) : this(shape, pool, slidingOnly: false) { }

    /// <param name="slidingOnly">Store only the ring layers (the sliding store of a sparse cache); global layers get none.</param>
    internal DenseKvCache(KvCacheShape shape, WorkerPool? pool, bool slidingOnly)
    {
        _shape = shape;
        int L = shape.Layers;
        _k = new float[L][];
        _v = new float[L][];
        _sliding = new bool[L];
        _absent = new bool[L];
        _ring = new int[L];
        _held = new int[L];
        _end = new int[L];
        long perLayer = (long)shape.Capacity * shape.KvDim;
        for (int l = 0; l < L; l++)
        {
            _sliding[l] = shape.WindowLimits(l);
            _absent[l] = slidingOnly && !_sliding[l];
            if (_sliding[l] || _absent[l])
            {
                _k[l] = _v[l] = [];   // a ring is allocated at the first append, at the size the chunk needs
                continue;
            }
            if (perLayer > Array.MaxLength) throw new ArgumentException($"KV cache of {shape.Capacity} positions is too large for one array");
            _k[l] = new float[perLayer];
            _v[l] = new float[perLayer];
        }
        _attention = new CausalAttention(shape, pool);
    }

    public int Length => _length;
    public int Capacity => _shape.Capacity;
    public KvCacheShape Shape => _shape;

    /// <summary>Bytes of the K and V arrays allocated now (rings at their current size).</summary>
    public long Bytes
    {
        get
        {
            long floats = 0;
            for (int l = 0; l < _shape.Layers; l++) floats += _k[l].LongLength + _v[l].LongLength;
            return floats * sizeof(float);
        }
    }

    /// <summary>
    /// Bytes held now, and per token what one more position costs: a global layer's K and V rows. A sliding layer's
    /// ring is a fixed cost once grown (it is in <see cref="KvMemory.Bytes"/>), so it adds nothing per token.
    /// </summary>
    public KvMemory Memory
    {
        get
        {
            int full = 0;
            for (int l = 0; l < _shape.Layers; l++) if (!_sliding[l] && !_absent[l]) full++;
            return new KvMemory(Bytes, 2.0 * full * _shape.KvDim * sizeof(float), _shape.Layers, _shape.KvHeads);
        }
    }

    /// <summary>
    /// The most a dense cache of <paramref name="shape"/> ever allocates when chunks of at most <paramref name="chunk"/>
    /// rows are appended: the full array of every global layer, W − 1 + chunk rows of every ring (what a scheduler reserves).
    /// </summary>
    public static long MaxBytes(KvCacheShape shape, int chunk)
    {
        long rows = 0;
        for (int l = 0; l < shape.Layers; l++) rows += shape.WindowLimits(l) ? shape.RingRows(l, chunk) : shape.Capacity;
        return rows * 2 * shape.KvDim * sizeof(float);
    }

    /// <summary>Whether <paramref name="layer"/> keeps a ring (its window is shorter than the capacity).</summary>
    public bool IsRing(int layer) => _sliding[layer];

    /// <summary>Rows a ring layer holds now (0 before its first append); the capacity for a global layer.</summary>
    public int RingRows(int layer) => _sliding[layer] ? _ring[layer] : Capacity;

    /// <summary>The oldest position whose keys and values <paramref name="layer"/> still holds (0 for a global layer).</summary>
    public int HeldFrom(int layer) => _sliding[layer] ? _held[layer] : 0;

    public void Append(int layer, ForwardStage stage, int startPos, int count, ReadOnlySpan<float> k, ReadOnlySpan<float> v)
    {
        if (startPos + count > Capacity) throw new InvalidOperationException($"KV cache holds {Capacity} positions; position {startPos + count - 1} does not fit");
        if (_absent[layer]) throw new InvalidOperationException($"this store keeps only sliding layers; layer {layer} is global");
        int kvDim = _shape.KvDim;
        if (_sliding[layer]) AppendRing(layer, startPos, count, k, v);
        else
        {
            k[..(count * kvDim)].CopyTo(_k[layer].AsSpan(startPos * kvDim));
            v[..(count * kvDim)].CopyTo(_v[layer].AsSpan(startPos * kvDim));
        }
        if (layer == _shape.Layers - 1 || startPos + count > _length) _length = Math.Max(_length, startPos + count);
    }

    void AppendRing(int layer, int startPos, int count, ReadOnlySpan<float> k, ReadOnlySpan<float> v)
    {
        int need = _shape.RingRows(layer, count);
        if (_ring[layer] < need) GrowRing(layer, need);
        int R = _ring[layer], kvDim = _shape.KvDim;
        // Positions older than startPos stay held only if they were and follow on without a gap (rows after a gap, e.g.
        // appended past a truncation that dropped the cache, have no history: a query that needs one then fails loudly);
        // the rows written now evict startPos + count − R and older.
        _held[layer] = startPos < _held[layer] || startPos > _end[layer] ? startPos : Math.Max(_held[layer], startPos + count - R);
        _end[layer] = startPos + count;
        for (int j = 0; j < count;)
        {
            int slot = (startPos + j) % R, run = Math.Min(count - j, R - slot);   // two runs when the chunk wraps
            k.Slice(j * kvDim, run * kvDim).CopyTo(_k[layer].AsSpan(slot * kvDim));
            v.Slice(j * kvDim, run * kvDim).CopyTo(_v[layer].AsSpan(slot * kvDim));
            j += run;
        }
    }

    /// <summary>Re-lays the held positions into a ring of <paramref name="rows"/> rows (rare: the first append, or a larger chunk).</summary>
    void GrowRing(int layer, int rows)
    {
        int kvDim = _shape.KvDim, old = _ring[layer];
        var k = new float[(long)rows * kvDim];
        var v = new float[(long)rows * kvDim];
        for (int p = _held[layer]; p < _end[layer]; p++)
        {
            Array.Copy(_k[layer], (long)(p % old) * kvDim, k, (long)(p % rows) * kvDim, kvDim);
            Array.Copy(_v[layer], (long)(p % old) * kvDim, v, (long)(p % rows) * kvDim, kvDim);
        }
        _k[layer] = k; _v[layer] = v; _ring[layer] = rows;
    }

    public void Attend(int layer, ForwardStage stage, int startPos, int count, ReadOnlySpan<float> q, Span<float> output)
    {
        if (!_sliding[layer])
        {
            if (_absent[layer]) throw new InvalidOperationException($"this store keeps only sliding layers; layer {layer} is global");
            _attention.Run(_k[layer], _v[layer], startPos, count, q, output);
            return;
        }
        int first = _shape.FirstVisible(layer, startPos);
        if (first < _held[layer] || startPos + count > _end[layer])
            throw new InvalidOperationException($"layer {layer}'s ring holds positions {_held[layer]}..{_end[layer] - 1}; rows {startPos}..{startPos + count - 1} need {first}.. (append a row before attending it, and at most the ring's chunk)");
        _attention.Run(_k[layer], _v[layer], startPos, count, q, output, _shape.Window(layer), _ring[layer]);
    }

    /// <summary>
    /// A global layer's keys, position-major (p·kvDim + kvHead·headDim + d), for metrics that need the exact ones. A ring
    /// layer has no such array (its rows wrap); read its held positions with <see cref="KeyRow"/>.
    /// </summary>
    public ReadOnlySpan<float> Keys(int layer) => _sliding[layer] || _absent[layer]
        ? throw new InvalidOperationException($"layer {layer} keeps a ring of its window, not every position; read rows with KeyRow")
        : _k[layer].AsSpan(0, _length * _shape.KvDim);

    /// <summary>The key row (kvDim floats) of <paramref name="pos"/> in <paramref name="layer"/>, global or ring; the position must still be held.</summary>
    public ReadOnlySpan<float> KeyRow(int layer, int pos) => _k[layer].AsSpan(Row(layer, pos) * _shape.KvDim, _shape.KvDim);

    public ReadOnlySpan<float> ValueRow(int layer, int pos) => _v[layer].AsSpan(Row(layer, pos) * _shape.KvDim, _shape.KvDim);

    int Row(int layer, int pos)
    {
        if (_absent[layer]) throw new InvalidOperationException($"this store keeps only sliding layers; layer {layer} is global");
        if (!_sliding[layer]) return (uint)pos < (uint)_length ? pos : throw new ArgumentOutOfRangeException(nameof(pos), $"position {pos} is not cached (length {_length})");
        if (pos < _held[layer] || pos >= _end[layer]) throw new ArgumentOutOfRangeException(nameof(pos), $"layer {layer}'s ring holds positions {_held[layer]}..{_end[layer] - 1}, not {pos}");
        return pos % _ring[layer];
    }

    /// <summary>
    /// Forgets positions ≥ <paramref name="length"/>. When a ring no longer holds a key the next query (at
    /// <paramref name="length"/>) would see, the cache drops to length 0 instead (see the remarks); read
    /// <see cref="Length"/> afterwards.
    /// </summary>
    public void Truncate(int length)
    {
        length = Math.Clamp(length, 0, _length);
        if (!RingsHold(length)) length = 0;
        for (int l = 0; l < _shape.Layers; l++)
        {
            if (!_sliding[l]) continue;
            _end[l] = Math.Min(_end[l], length);
            if (length == 0) _held[l] = 0;
        }
        _length = length;
    }

    /// <summary>Whether every ring still holds what a query at <paramref name="length"/> sees, so truncating there keeps the cache.</summary>
    public bool RingsHold(int length)
    {
        for (int l = 0; l < _shape.Layers; l++)
            if (_sliding[l] && _end[l] > 0 && _shape.FirstVisible(l, length) < _held[l]) return false;
        return true;
    }

    /// <summary>
    /// Whether <see cref="CopyPrefixFrom"/> can take <paramref name="length"/> positions from <paramref name="source"/>:
    /// the same model shape, and every layer of the source still holds what this cache needs there (all of 0..length−1
    /// for a global layer, the window before <paramref name="length"/> for a ring).
    /// </summary>
    public bool CanCopyPrefix(DenseKvCache source, int length)
    {
        if (!SameModel(source) || (uint)length > (uint)source._length || length > Capacity) return false;
        for (int l = 0; l < _shape.Layers; l++)
            if (!_absent[l] && source.HeldFrom(l) > (_sliding[l] ? _shape.FirstVisible(l, length) : 0)) return false;
        return true;
    }

    bool SameModel(DenseKvCache source) =>
        source._shape.Layers == _shape.Layers && source._shape.KvDim == _shape.KvDim && source._shape.AttnSoftcap == _shape.AttnSoftcap &&
        Enumerable.Range(0, _shape.Layers).All(l => source._shape.Window(l) == _shape.Window(l));

    /// <summary>
    /// Takes positions 0..<paramref name="length"/>-1 of every layer from <paramref name="source"/> (llama.cpp's
    /// <c>seq_cp</c>): a sequence whose prompt starts like another's skips prefilling the shared part. A copy, not a
    /// reference, so either sequence may go on, truncate or end on its own. A ring layer copies only the window the
    /// next query needs; check <see cref="CanCopyPrefix"/> first when the source has rings.
    /// </summary>
    public void CopyPrefixFrom(DenseKvCache source, int length)
    {
        if (!SameModel(source))
            throw new ArgumentException("the source cache belongs to a model of another shape");
        if ((uint)length > (uint)source._length || length > Capacity)
            throw new ArgumentOutOfRangeException(nameof(length), $"cannot copy {length} positions (the source holds {source._length}, this cache {Capacity})");
        if (!CanCopyPrefix(source, length))
            throw new InvalidOperationException($"the source's ring no longer holds the window before position {length}; prefill instead");
        int kvDim = _shape.KvDim;
        for (int l = 0; l < _shape.Layers; l++)
        {
            if (_absent[l]) continue;
            if (!_sliding[l] && !source._sliding[l])
            {
                source._k[l].AsSpan(0, length * kvDim).CopyTo(_k[l]);
                source._v[l].AsSpan(0, length * kvDim).CopyTo(_v[l]);
                continue;
            }
            int first = _sliding[l] ? _shape.FirstVisible(l, length) : 0;
            if (_sliding[l])
            {
                _held[l] = _end[l] = 0;   // what this ring held before is forgotten, then re-laid as the copy
                if (_ring[l] < _shape.RingRows(l, 1)) GrowRing(l, _shape.RingRows(l, 1));
            }
            // A source ring that stopped short (a layer its plan skips) gives what it has, as a full array would give its zeros.
            int end = source._sliding[l] ? Math.Min(length, source._end[l]) : length;
            for (int p = first; p < end; p++)
            {
                int row = _sliding[l] ? p % _ring[l] : p;
                source.KeyRow(l, p).CopyTo(_k[l].AsSpan(row * kvDim, kvDim));
                source.ValueRow(l, p).CopyTo(_v[l].AsSpan(row * kvDim, kvDim));
            }
            if (_sliding[l]) { _held[l] = Math.Min(first, end); _end[l] = end; }
        }
        _length = length;
    }
}
