using System.Numerics.Tensors;
using Sieve.Cache.Sparse;
using Sieve.Kernels;

namespace Sieve.Cache.SelfIndexing;

/// <summary>
/// One (layer, KV head) of the Self-Indexing cache as an <see cref="IKvStore"/> of <see cref="SparseKvCache"/>: slots
/// are positions, reads return what attention should see — raw F32 rows while the prompt is buffered, median-centred
/// rows after (the dense set's F16 rows, the other tokens dequantised from their 2-bit codes), with the median as
/// <see cref="KeyOffset"/> so a soft-cap sees true scores. <see cref="SelfIndexSelector"/> scores its sign codes.
/// </summary>
/// <remarks>
/// Three phases.
/// <para><b>Buffer</b>: the first <see cref="SelfIndexOptions.StatisticsTokens"/> prompt rows are held in F32. A prompt
/// that crosses the boundary within them is compressed there by <see cref="SelfIndexHead.Compress"/>, bit for bit the
/// method as written (median, scale, centroids over the whole prompt; the dense set by the last prompt query's exact
/// scores).</para>
/// <para><b>Stream</b>: a longer prompt fixes the per-channel median and scale from those first rows and codes each
/// later row as it arrives, so prefill holds codes (56 B a token and head at head dim 64) instead of F32 rows (512 B).
/// Exact rows stay for two sets only: the first <see cref="SelfIndexOptions.ExactFirst"/> tokens (F16; the attention
/// sinks) and the latest <see cref="SelfIndexOptions.ExactLast"/> (F32, coded when they fall out), so a prefill chunk
/// attends exactly to itself and to the sinks and to 2-bit rows in between. At the boundary the dense set is the top
/// tokens of the whole prompt by the last query's score — exact where the row is still held, dequantised elsewhere —
/// with F16 rows of whichever it has; the centroids are bucket means over every coded prompt token.</para>
/// <para><b>Compressed</b>: after the boundary every new row is centred and coded with the prompt's statistics.</para>
/// </remarks>
public sealed class SelfIndexStore : IKvStore, IBoundaryStore, ICopyableStore
{
    enum Phase { Buffer, Stream, Compressed }

    readonly SelfIndexOptions _o;
    readonly DecodeScratch _scratch;
    Phase _phase;
    float[] _k = [], _v = [];                    // Buffer: raw rows of positions [0, Count)
    SelfIndexHead? _head;                        // Stream and Compressed
    Half[] _firstK = [], _firstV = [];           // Stream: centred keys and values of positions [0, _first)
    int _first;
    float[] _lastK = [], _lastV = [];            // Stream: ring of centred rows of positions [_coded, Count), p at p mod ring
    int _coded;                                  // Stream: positions [0, _coded) are coded, in slots equal to their positions

    public SelfIndexStore(int headDim, int capacity, SelfIndexOptions options, DecodeScratch scratch)
    {
        HeadDim = headDim;
        Capacity = capacity;
        _o = options;
        _scratch = scratch;
    }

    public int HeadDim { get; }
    /// <summary>The rows a reader gets are F32; the dense set is held in F16, the rest as codes.</summary>
    public KvElement Element => KvElement.F32;
    public int Count { get; private set; }
    public int PromptCount { get; set; } = -1;
    public int Capacity { get; }

    /// <summary>The compressed head: null while buffering; slots equal positions while streaming.</summary>
    public SelfIndexHead? Head => _head;
    /// <summary>True while a long prompt is being coded as it arrives (statistics fixed, boundary not reached).</summary>
    public bool Streaming => _phase == Phase.Stream;

    public int PositionOf(int slot) => slot;
    public int CountUpTo(int position) => Math.Clamp(position + 1, 0, Count);

    public ReadOnlySpan<float> KeyOffset => _phase == Phase.Buffer ? default : _head!.Median;

    public void Add(int position, ReadOnlySpan<float> key, ReadOnlySpan<float> value)
    {
        if (position != Count) throw new InvalidOperationException($"position {position} cannot follow position {Count - 1} in this store");
        if (Count >= Capacity) throw new InvalidOperationException($"the compressed KV store holds {Capacity} tokens");
        int hd = HeadDim;
        // A row beyond the statistics window: the prompt is long, fix the statistics and stream from here on.
        if (_phase == Phase.Buffer && _o.StatisticsTokens > 0 && Count == _o.StatisticsTokens) BeginStream();
        switch (_phase)
        {
            case Phase.Buffer:
                Grow(ref _k, (Count + 1) * hd);
                Grow(ref _v, (Count + 1) * hd);
                key[..hd].CopyTo(_k.AsSpan(Count * hd));
                value[..hd].CopyTo(_v.AsSpan(Count * hd));
                Count++;
                break;
            case Phase.Stream:
                int ring = _lastK.Length / hd;
                if (Count - _coded == ring) CodeOldest();
                int o = Count % ring * hd;
                TensorPrimitives.Subtract(key[..hd], _head!.Median, _lastK.AsSpan(o, hd));
                value[..hd].CopyTo(_lastV.AsSpan(o, hd));
                Count++;
                break;
            default:
                _head!.Append(key, value);
                Count++;
                break;
        }
    }

    static void Grow(ref float[] a, int needed)
    {
        if (a.Length >= needed) return;
        Array.Resize(ref a, Math.Max(needed, (int)Math.Min(Array.MaxLength, 2L * a.Length)));
    }

    /// <summary>Statistics from the buffered rows; code all but the latest <see cref="SelfIndexOptions.ExactLast"/>.</summary>
    void BeginStream()
    {
        int n = Count, hd = HeadDim, ring = Math.Max(1, _o.ExactLast);
        _coded = n - Math.Min(ring, n);
        _head = SelfIndexHead.Begin(_k, _v, hd, n, hd, _coded, Capacity, _o.FullPrecisionStorage);
        var m = _head.Median;
        _first = Math.Min(Math.Max(0, _o.ExactFirst), n);
        _firstK = new Half[_first * hd];
        _firstV = new Half[_first * hd];
        var centred = new float[hd];
        for (int t = 0; t < _first; t++)
        {
            TensorPrimitives.Subtract(_k.AsSpan(t * hd, hd), m, centred);
            TensorPrimitives.ConvertToHalf(centred, _firstK.AsSpan(t * hd, hd));
            TensorPrimitives.ConvertToHalf(_v.AsSpan(t * hd, hd), _firstV.AsSpan(t * hd, hd));
        }
        _lastK = new float[ring * hd];
        _lastV = new float[ring * hd];
        for (int t = _coded; t < n; t++)
        {
            TensorPrimitives.Subtract(_k.AsSpan(t * hd, hd), m, _lastK.AsSpan(t % ring * hd, hd));
            _v.AsSpan(t * hd, hd).CopyTo(_lastV.AsSpan(t % ring * hd, hd));
        }
        _k = _v = [];
        _phase = Phase.Stream;
    }

    void CodeOldest()
    {
        int hd = HeadDim, o = _coded % (_lastK.Length / hd) * hd;
        _head!.AppendPrompt(_lastK.AsSpan(o, hd), _lastV.AsSpan(o, hd));
        _coded++;
    }

    public void ReadKeys(int start, int count, Span<float> output) => Read(start, count, output, keys: true);
    public void ReadValues(int start, int count, Span<float> output) => Read(start, count, output, keys: false);

    void Read(int start, int count, Span<float> output, bool keys)
    {
        int hd = HeadDim;
        if (start < 0 || count < 0 || start + count > Count) throw new ArgumentOutOfRangeException(nameof(start), $"rows {start}..{start + count - 1} are not all held (0..{Count - 1})");
        switch (_phase)
        {
            case Phase.Buffer:
                (keys ? _k : _v).AsSpan(start * hd, count * hd).CopyTo(output);
                return;
            case Phase.Stream:
                for (int i = 0; i < count;)
                {
                    int p = start + i, run;
                    if (p < _first)
                    {
                        run = Math.Min(count - i, _first - p);
                        TensorPrimitives.ConvertToSingle((keys ? _firstK : _firstV).AsSpan(p * hd, run * hd), output.Slice(i * hd, run * hd));
                    }
                    else if (p >= _coded)
                    {
                        run = 1;
                        int ring = _lastK.Length / hd;
                        (keys ? _lastK : _lastV).AsSpan(p % ring * hd, hd).CopyTo(output.Slice(i * hd, hd));
                    }
                    else
                    {
                        run = Math.Min(count - i, _coded - p);
                        _scratch.Read(this, _head!, _coded, p, run, keys, output.Slice(i * hd, run * hd));
                    }
                    i += run;
                }
                return;
            default:
                var head = _head!;
                for (int i = 0; i < count; i++)
                {
                    int p = start + i, d = head.DenseIndex(p);
                    var row = output.Slice(i * hd, hd);
                    if (d >= 0)
                    {
                        if (keys) head.DenseKeys(d, 1, row);
                        else head.DenseValues(d, 1, row);
                    }
                    else if (keys) head.DecodeKey(head.SlotsBefore(p), row);
                    else head.DecodeValue(head.SlotsBefore(p), row);
                }
                return;
        }
    }

    /// <summary>
    /// The boundary: a buffered prompt is compressed as the method says; a streamed one codes its exact tail, picks its
    /// dense set and takes it out of the compressed slots.
    /// </summary>
    public void Cross(PressInput boundary)
    {
        if (_phase == Phase.Compressed) return;
        int hd = HeadDim;
        float[]? query = null;
        if (boundary.WindowRows > 0)
        {
            // The GQA-averaged last prompt query: the row the dense set is chosen by.
            query = new float[hd];
            int g = boundary.GroupSize;
            GroupQuery.Mean(boundary.WindowQueries.AsSpan((boundary.WindowRows - 1) * g * hd, g * hd), hd, query);
        }
        if (_phase == Phase.Buffer)
        {
            int n = Count;
            _head = SelfIndexHead.Compress(n > 0 ? _k : default, n > 0 ? _v : default, hd, n, hd, query, _o.DenseSet,
                Capacity - Math.Min(_o.DenseSet, n), _o.FullPrecisionStorage);
            _k = _v = [];
        }
        else FinishStream(query);
        _phase = Phase.Compressed;
    }

    unsafe void FinishStream(float[]? query)
    {
        int n = Count, hd = HeadDim, size = Math.Min(Math.Max(0, _o.DenseSet), n);
        var row = new float[hd];
        var scores = new float[n];
        for (int t = 0; t < n; t++)
        {
            if (query == null) { scores[t] = t; continue; }   // no query seen: the most recent tokens
            Held(t, row, keys: true);
            scores[t] = TensorPrimitives.Dot(query, row);
        }
        var dense = new int[size];
        fixed (float* ps = scores) fixed (int* pd = dense) TopK.Select(ps, n, size, pd);
        Array.Sort(dense);
        var denseK = new float[size * hd];
        var denseV = new float[size * hd];
        for (int i = 0; i < size; i++)
        {
            Held(dense[i], denseK.AsSpan(i * hd, hd), keys: true);
            Held(dense[i], denseV.AsSpan(i * hd, hd), keys: false);
        }
        while (_coded < n) CodeOldest();
        _head!.Finish(dense, denseK, denseV);
        _firstK = _firstV = [];
        _lastK = _lastV = [];
        _first = 0;
        _scratch.Release(this);
    }

    /// <summary>A streamed row as exactly as it is still held: F16 or F32 when kept, else dequantised from its codes.</summary>
    void Held(int p, Span<float> row, bool keys)
    {
        int hd = HeadDim;
        if (p < _first) TensorPrimitives.ConvertToSingle((keys ? _firstK : _firstV).AsSpan(p * hd, hd), row);
        else if (p >= _coded) (keys ? _lastK : _lastV).AsSpan(p % (_lastK.Length / hd) * hd, hd).CopyTo(row);
        else if (keys) _head!.DecodeKey(p, row);
        else _head!.DecodeValue(p, row);
    }

    public void KeepOnly(ReadOnlySpan<int> slots, int room) =>
        throw new NotSupportedException("the Self-Indexing store does not evict (it takes no press)");

    public void Truncate(int count)
    {
        count = Math.Clamp(count, 0, Count);
        if (count == Count) return;
        if (count == 0)
        {
            _phase = Phase.Buffer;
            _head = null;
            _k = _v = [];
            _firstK = _firstV = [];
            _lastK = _lastV = [];
            _first = _coded = 0;
            _scratch.Release(this);
            Count = 0;
            return;
        }
        switch (_phase)
        {
            case Phase.Stream:
                // Keep the statistics and the centroid sums (they include what the forgotten rows added): rows coded
                // with them stay valid, and the boundary has not been reached.
                if (count < _coded)
                {
                    _head!.TruncateSlots(count);
                    _coded = count;
                    _scratch.Release(this);
                }
                _first = Math.Min(_first, count);
                break;
            case Phase.Compressed:
                if (count < _head!.GeneratedStart) throw new NotSupportedException("cannot truncate into a compressed prompt; start a new cache (Truncate(0))");
                _head.TruncateSlots(_head.PromptCount + count - _head.GeneratedStart);
                break;
        }
        Count = count;
    }

    public void CopyFrom(IKvStore source)
    {
        if (source is not SelfIndexStore s || s.HeadDim != HeadDim || s.Count > Capacity)
            throw new ArgumentException("the source store is not a Self-Indexing store of this shape");
        _phase = s._phase;
        _k = (float[])s._k.Clone();
        _v = (float[])s._v.Clone();
        _head = s._head?.Clone();
        _firstK = (Half[])s._firstK.Clone();
        _firstV = (Half[])s._firstV.Clone();
        _lastK = (float[])s._lastK.Clone();
        _lastV = (float[])s._lastV.Clone();
        (_first, _coded, Count, PromptCount) = (s._first, s._coded, s.Count, s.PromptCount);
        _scratch.Release(this);
    }

    /// <summary>F32 rows while buffering; after, the per-slot codes (and, streaming, nothing more per token).</summary>
    public double BytesPerToken => _phase == Phase.Buffer ? 2.0 * HeadDim * sizeof(float) : _head!.BytesPerSlot;
    public int RowBytes => (int)Math.Ceiling(BytesPerToken);

    public long Bytes => _phase switch
    {
        Phase.Buffer => (_k.LongLength + _v.LongLength) * sizeof(float),
        Phase.Stream => _head!.Bytes + (_firstK.LongLength + _firstV.LongLength) * 2 + (_lastK.LongLength + _lastV.LongLength) * sizeof(float)
            + _scratch.BytesOwnedBy(this),
        _ => _head!.Bytes,
    };
}
