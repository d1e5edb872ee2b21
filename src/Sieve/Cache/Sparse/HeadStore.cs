using System.Numerics.Tensors;

namespace Sieve.Cache.Sparse;

/// <summary>How a full-precision store keeps its rows.</summary>
public enum KvElement { F32, F16 }

/// <summary>
/// The in-memory tier of <see cref="IKvStore"/>: the keys and values one KV head of one layer keeps, in F32 or F16, with each row's position. Rows stay in
/// position order; a press may drop some (so heads of one layer can keep different tokens), a selector reads
/// any subset. Buffers grow by doubling and shrink to fit after a press, so <see cref="Bytes"/> is real memory.
/// Without eviction a row's slot is its position and no positions are stored.
/// </summary>
public sealed class HeadStore : IKvStore
{
    public int HeadDim { get; }
    public KvElement Element { get; }
    float[] _k32 = [], _v32 = [];
    Half[] _k16 = [], _v16 = [];
    int[]? _positions;
    int _capacity;

    /// <summary>Rows held.</summary>
    public int Count { get; private set; }
    /// <summary>Rows held when the layer crossed the prefill/decode boundary (after its press); later rows were appended in decode.</summary>
    public int PromptCount { get; set; } = -1;

    /// <param name="trackPositions">Store each row's position (needed once rows can be evicted).</param>
    public HeadStore(int headDim, KvElement element, bool trackPositions, int initialCapacity = 16)
    {
        HeadDim = headDim;
        Element = element;
        if (trackPositions) _positions = [];
        Resize(Math.Max(1, initialCapacity));
    }

    public int Capacity => _capacity;
    public int PositionOf(int slot) => _positions?[slot] ?? slot;

    /// <summary>Rows with position ≤ <paramref name="position"/> (positions ascend).</summary>
    public int CountUpTo(int position)
        => SlotPositions.CountUpTo(_positions, Count, position);

    public void Add(int position, ReadOnlySpan<float> key, ReadOnlySpan<float> value)
    {
        SlotPositions.CheckNext(_positions, Count, position);
        if (Count == Capacity) Resize(Capacity * 2);
        int o = Count * HeadDim;
        if (Element == KvElement.F32)
        {
            key[..HeadDim].CopyTo(_k32.AsSpan(o));
            value[..HeadDim].CopyTo(_v32.AsSpan(o));
        }
        else
        {
            TensorPrimitives.ConvertToHalf(key[..HeadDim], _k16.AsSpan(o, HeadDim));
            TensorPrimitives.ConvertToHalf(value[..HeadDim], _v16.AsSpan(o, HeadDim));
        }
        if (_positions != null) _positions[Count] = position;
        Count++;
    }

    /// <summary>Keys of rows [start, start+count) as F32, row-major into <paramref name="output"/>.</summary>
    public void ReadKeys(int start, int count, Span<float> output) => Read(_k32, _k16, start, count, output);
    public void ReadValues(int start, int count, Span<float> output) => Read(_v32, _v16, start, count, output);

    public void ReadKey(int slot, Span<float> output) => Read(_k32, _k16, slot, 1, output);
    public void ReadValue(int slot, Span<float> output) => Read(_v32, _v16, slot, 1, output);

    public void GatherKeys(ReadOnlySpan<int> slots, Span<float> output) => Gather(_k32, _k16, slots, output);
    public void GatherValues(ReadOnlySpan<int> slots, Span<float> output) => Gather(_v32, _v16, slots, output);

    unsafe void Gather(float[] f32, Half[] f16, ReadOnlySpan<int> slots, Span<float> output)
    {
        RowGather.Check(slots, Count, HeadDim, output.Length);
        if (Element == KvElement.F32)
            fixed (float* p = f32) RowGather.Gather((byte*)p, Element, HeadDim, slots, output);
        else
            fixed (Half* p = f16) RowGather.Gather((byte*)p, Element, HeadDim, slots, output);
    }

    void Read(float[] f32, Half[] f16, int start, int count, Span<float> output)
    {
        int n = count * HeadDim, o = start * HeadDim;
        if (Element == KvElement.F32) f32.AsSpan(o, n).CopyTo(output);
        else TensorPrimitives.ConvertToSingle(f16.AsSpan(o, n), output[..n]);
    }

    /// <summary>Keeps only the given rows (ascending slot indices), in order; the buffers shrink to fit plus <paramref name="room"/>.</summary>
    public void KeepOnly(ReadOnlySpan<int> slots, int room)
    {
        if (_positions == null) throw new InvalidOperationException("this store does not track positions, so it cannot evict");
        for (int i = 0; i < slots.Length; i++)
        {
            int s = slots[i];
            if (i > 0 && s <= slots[i - 1]) throw new ArgumentException("slots to keep must ascend");
            if (s == i) continue;
            Move(s, i);
        }
        Count = slots.Length;
        Resize(Math.Max(1, Count + room));
    }

    void Move(int from, int to)
    {
        int hd = HeadDim;
        if (Element == KvElement.F32)
        {
            Array.Copy(_k32, from * hd, _k32, to * hd, hd);
            Array.Copy(_v32, from * hd, _v32, to * hd, hd);
        }
        else
        {
            Array.Copy(_k16, from * hd, _k16, to * hd, hd);
            Array.Copy(_v16, from * hd, _v16, to * hd, hd);
        }
        _positions![to] = _positions[from];
    }

    public void Truncate(int count) => Count = Math.Clamp(count, 0, Count);

    void Resize(int capacity)
    {
        if (Element == KvElement.F32)
        {
            Array.Resize(ref _k32, capacity * HeadDim);
            Array.Resize(ref _v32, capacity * HeadDim);
        }
        else
        {
            Array.Resize(ref _k16, capacity * HeadDim);
            Array.Resize(ref _v16, capacity * HeadDim);
        }
        if (_positions != null) Array.Resize(ref _positions, capacity);
        _capacity = capacity;
    }

    /// <summary>Bytes per row: K and V, plus its position when positions are tracked.</summary>
    public int RowBytes => 2 * HeadDim * (Element == KvElement.F32 ? 4 : 2) + (_positions != null ? 4 : 0);

    public long Bytes => (long)Capacity * RowBytes;
}
