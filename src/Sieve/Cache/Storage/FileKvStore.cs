using System.Numerics.Tensors;
using Sieve.Cache.Sparse;

namespace Sieve.Cache.Storage;

/// <summary>
/// The offloaded <see cref="IKvStore"/> of one (layer, KV head): its rows in F32 or F16 in a region of its
/// <see cref="FileKvTier"/>'s mapped file, the first <c>sinks</c> and the last <c>window</c> rows copied in RAM as
/// well, positions (when tracked) in RAM. Reads are served from the RAM copies where they hold the rows, else from
/// the mapping; every row read from the file is counted, so a test or a benchmark can prove that a step read only
/// what its selector picked.
/// </summary>
/// <remarks>
/// Rows are stored exactly as <see cref="HeadStore"/> stores them (the same F16 conversion), so an offloaded cache's
/// logits are bit-identical to the in-memory one's. Reads may run on several workers at once (one per KV head, or
/// rows of one head in chunked prefill), hence the interlocked counters; appends and presses run alone.
/// </remarks>
public sealed unsafe class FileKvStore : IKvStore
{
    readonly FileKvTier _tier;
    readonly byte* _k, _v;                  // this head's key and value regions in the mapping
    readonly int _capacity, _rowBytes, _sinks, _window;
    readonly byte[] _sinkK, _sinkV;         // rows [0, min(Count, sinks))
    readonly byte[] _ringK, _ringV;         // rows [_ringStart, Count), row i at i % window
    int[]? _positions;
    int _ringStart;
    long _keyRowsRead, _valueRowsRead;

    internal FileKvStore(FileKvTier tier, byte* keys, byte* values, int capacity, int headDim, KvElement element, bool trackPositions, int sinks, int window)
    {
        _tier = tier;
        _k = keys;
        _v = values;
        _capacity = capacity;
        HeadDim = headDim;
        Element = element;
        _rowBytes = headDim * FileKvTier.ElementBytes(element);
        _sinks = Math.Min(sinks, capacity);
        _window = Math.Min(window, capacity);
        _sinkK = new byte[_sinks * _rowBytes];
        _sinkV = new byte[_sinks * _rowBytes];
        _ringK = new byte[_window * _rowBytes];
        _ringV = new byte[_window * _rowBytes];
        if (trackPositions) _positions = new int[Math.Min(capacity, 16)];
    }

    public int HeadDim { get; }
    public KvElement Element { get; }
    public int Count { get; private set; }
    public int PromptCount { get; set; } = -1;
    /// <summary>The region's rows: the cache's capacity (a file region does not grow).</summary>
    public int Capacity => _capacity;

    public int PositionOf(int slot) => _positions?[slot] ?? slot;

    public int CountUpTo(int position)
        => SlotPositions.CountUpTo(_positions, Count, position);

    public void Add(int position, ReadOnlySpan<float> key, ReadOnlySpan<float> value)
    {
        ObjectDisposedException.ThrowIf(_tier.IsDisposed, _tier);
        SlotPositions.CheckNext(_positions, Count, position);
        if (Count == _capacity) throw new InvalidOperationException($"this offloaded store holds {_capacity} rows (the cache's capacity); row {Count} does not fit");
        int slot = Count;
        Write(key[..HeadDim], _k + (long)slot * _rowBytes);
        Write(value[..HeadDim], _v + (long)slot * _rowBytes);
        if (_positions != null)
        {
            if (slot == _positions.Length) Array.Resize(ref _positions, Math.Min(_capacity, _positions.Length * 2));
            _positions[slot] = position;
        }
        Count++;
        Remember(slot);
        if (_window > 0) _ringStart = Math.Max(_ringStart, Count - _window);
        else _ringStart = Count;
    }

    void Write(ReadOnlySpan<float> row, byte* dst)
    {
        if (Element == KvElement.F32) row.CopyTo(new Span<float>(dst, HeadDim));
        else TensorPrimitives.ConvertToHalf(row, new Span<Half>(dst, HeadDim));
    }

    /// <summary>Copies the file's row <paramref name="slot"/> into the sink copy and the ring where it belongs there.</summary>
    void Remember(int slot)
    {
        var rk = new ReadOnlySpan<byte>(_k + (long)slot * _rowBytes, _rowBytes);
        var rv = new ReadOnlySpan<byte>(_v + (long)slot * _rowBytes, _rowBytes);
        if (slot < _sinks)
        {
            rk.CopyTo(_sinkK.AsSpan(slot * _rowBytes));
            rv.CopyTo(_sinkV.AsSpan(slot * _rowBytes));
        }
        if (_window > 0)
        {
            int r = slot % _window * _rowBytes;
            rk.CopyTo(_ringK.AsSpan(r));
            rv.CopyTo(_ringV.AsSpan(r));
        }
    }

    public void ReadKeys(int start, int count, Span<float> output) => Read(_k, _sinkK, _ringK, start, count, output, ref _keyRowsRead);
    public void ReadValues(int start, int count, Span<float> output) => Read(_v, _sinkV, _ringV, start, count, output, ref _valueRowsRead);

    void Read(byte* file, byte[] sink, byte[] ring, int start, int count, Span<float> output, ref long counter)
    {
        if (start < 0 || count < 0 || start + count > Count)
            throw new ArgumentOutOfRangeException(nameof(start), $"rows [{start}, {start + count}) are outside the {Count} held");
        if (output.Length < count * HeadDim) throw new ArgumentException($"output holds {output.Length} floats; {count} rows need {count * HeadDim}", nameof(output));
        ObjectDisposedException.ThrowIf(_tier.IsDisposed, _tier);
        long fromFile = 0;
        fixed (byte* s = sink, r = ring) ReadRun(file, s, r, start, count, output, ref fromFile);
        if (fromFile > 0) Interlocked.Add(ref counter, fromFile);
    }

    public void GatherKeys(ReadOnlySpan<int> slots, Span<float> output) => Gather(_k, _sinkK, _ringK, slots, output, ref _keyRowsRead);
    public void GatherValues(ReadOnlySpan<int> slots, Span<float> output) => Gather(_v, _sinkV, _ringV, slots, output, ref _valueRowsRead);

    /// <summary>A selection's rows, runs read together, the file rows a few slots ahead prefetched (the mapping is
    /// read like RAM, so a scattered selection waits on DRAM or the page cache row by row without it); the rows read
    /// from the file counted once per call.</summary>
    void Gather(byte* file, byte[] sink, byte[] ring, ReadOnlySpan<int> slots, Span<float> output, ref long counter)
    {
        RowGather.Check(slots, Count, HeadDim, output.Length);
        ObjectDisposedException.ThrowIf(_tier.IsDisposed, _tier);
        long fromFile = 0;
        fixed (byte* s = sink, r = ring)
            for (int i = 0; i < slots.Length;)
            {
                int run = RowGather.RunAt(slots, i);
                for (int p = 0; p < run; p++) RowGather.Prefetch(file, _rowBytes, slots, i + p);
                ReadRun(file, s, r, slots[i], run, output.Slice(i * HeadDim, run * HeadDim), ref fromFile);
                i += run;
            }
        if (fromFile > 0) Interlocked.Add(ref counter, fromFile);
    }

    /// <summary>Rows [start, start + count) (checked) from the sink copy, the ring or the file, whichever holds each.</summary>
    void ReadRun(byte* file, byte* sink, byte* ring, int start, int count, Span<float> output, ref long fromFile)
    {
        int sinkRows = Math.Min(Count, _sinks), end = start + count, hd = HeadDim;
        for (int i = start; i < end;)
        {
            int n;
            var dst = output.Slice((i - start) * hd);
            if (i < sinkRows)
            {
                n = Math.Min(end, sinkRows) - i;
                RowGather.Convert(sink + (long)i * _rowBytes, Element, n * hd, dst);
            }
            else if (i >= _ringStart)
            {
                int at = i % _window;   // _window > 0 here: without a ring _ringStart is Count
                n = Math.Min(end - i, _window - at);
                RowGather.Convert(ring + (long)at * _rowBytes, Element, n * hd, dst);
            }
            else
            {
                n = Math.Min(end, _ringStart) - i;
                RowGather.Convert(file + (long)i * _rowBytes, Element, n * hd, dst);
                fromFile += n;
            }
            i += n;
        }
    }

    /// <summary>Keeps only the given rows (ascending slots), moving them down inside the file region; the RAM copies are rebuilt from the file (not counted as reads).</summary>
    public void KeepOnly(ReadOnlySpan<int> slots, int room)
    {
        ObjectDisposedException.ThrowIf(_tier.IsDisposed, _tier);
        if (_positions == null) throw new InvalidOperationException("this store does not track positions, so it cannot evict");
        for (int i = 0; i < slots.Length; i++)
        {
            int s = slots[i];
            if (i > 0 && s <= slots[i - 1]) throw new ArgumentException("slots to keep must ascend");
            if ((uint)s >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(slots), $"slot {s} is outside the {Count} held");
            if (s == i) continue;
            // s > i: the destination precedes the source and rows move in ascending order, so nothing is overwritten before it moves.
            Buffer.MemoryCopy(_k + (long)s * _rowBytes, _k + (long)i * _rowBytes, _rowBytes, _rowBytes);
            Buffer.MemoryCopy(_v + (long)s * _rowBytes, _v + (long)i * _rowBytes, _rowBytes, _rowBytes);
            _positions[i] = _positions[s];
        }
        Count = slots.Length;
        Array.Resize(ref _positions, Math.Clamp(Count + room, 1, _capacity));
        _ringStart = Math.Max(0, Count - _window);
        for (int i = 0; i < Math.Min(Count, _sinks); i++) Remember(i);
        for (int i = _ringStart; i < Count; i++) Remember(i);
    }

    public void Truncate(int count)
    {
        Count = Math.Clamp(count, 0, Count);
        _ringStart = Math.Min(_ringStart, Count);   // rows below the new end that the ring held, it still holds
    }

    /// <summary>Rows of keys read from the file since the last reset (rows served from the RAM copies not counted).</summary>
    public long KeyRowsRead => Interlocked.Read(ref _keyRowsRead);
    public long ValueRowsRead => Interlocked.Read(ref _valueRowsRead);
    /// <summary>Key rows plus value rows read from the file.</summary>
    public long RowsRead => KeyRowsRead + ValueRowsRead;
    public long BytesRead => RowsRead * _rowBytes;
    public void ResetReadCounters()
    {
        Interlocked.Exchange(ref _keyRowsRead, 0);
        Interlocked.Exchange(ref _valueRowsRead, 0);
    }

    /// <summary>Whether slot <paramref name="slot"/> is served from RAM (a sink or the trailing window).</summary>
    public bool IsResident(int slot) => slot < Math.Min(Count, _sinks) || (slot >= _ringStart && slot < Count);

    public int RowBytes => 2 * _rowBytes + (_positions != null ? 4 : 0);
    /// <summary>RAM: the sink and window copies and the positions.</summary>
    public long Bytes => _sinkK.Length + _sinkV.Length + _ringK.Length + _ringV.Length + (_positions?.Length ?? 0) * 4L;
    /// <summary>The rows held in the file: keys and values (positions stay in RAM, in <see cref="Bytes"/>).</summary>
    public long OffloadedBytes => (long)Count * 2 * _rowBytes;
}
