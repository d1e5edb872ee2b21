namespace Sieve.Cache.SelfIndexing;

/// <summary>
/// The dequantised coded rows of one streaming store, shared by one KV head's stores of every layer of one cache.
/// </summary>
/// <remarks>
/// While a long prompt streams, every row of a prefill chunk attends to every earlier row, most of them coded.
/// Decoding a coded row costs about as much as the attention arithmetic on it (table lookups for 2 × 64 codes), so
/// decoding it once per query row would roughly double prefill's attention time; decoding once per layer and chunk
/// costs nothing measurable. Layers attend one after another, so one buffer per KV head serves them all and at most
/// one layer's rows are held as F32 at a time: 64 MiB for llama-1b at 16K tokens, against 1 GiB for every layer's.
/// The buffer is filled under a lock by whichever worker reads first; the other workers of that layer then only read
/// rows already decoded, and no other store can take the buffer over until that layer's attention has finished.
/// </remarks>
public sealed class DecodeScratch
{
    readonly Lock _lock = new();
    float[] _k = [], _v = [];
    object? _owner;
    int _rows;   // the owner's coded rows [0, _rows) are decoded

    /// <summary>Rows [start, start + count) of <paramref name="head"/>'s first <paramref name="coded"/> slots, dequantised.</summary>
    public void Read(object owner, SelfIndexHead head, int coded, int start, int count, bool keys, Span<float> output)
    {
        int hd = head.HeadDim;
        float[] source;
        lock (_lock)
        {
            if (!ReferenceEquals(_owner, owner)) { _owner = owner; _rows = 0; }
            if (_rows < coded)
            {
                if (_k.Length < coded * hd)
                {
                    int size = (int)Math.Min(Array.MaxLength, Math.Max((long)coded * hd, 2L * _k.Length));
                    Array.Resize(ref _k, size);
                    Array.Resize(ref _v, size);
                }
                for (int t = _rows; t < coded; t++)
                {
                    head.DecodeKey(t, _k.AsSpan(t * hd, hd));
                    head.DecodeValue(t, _v.AsSpan(t * hd, hd));
                }
                _rows = coded;
            }
            source = keys ? _k : _v;
        }
        source.AsSpan(start * hd, count * hd).CopyTo(output);
    }

    /// <summary>Forgets the rows of <paramref name="owner"/> (it crossed the boundary, was truncated or replaced) and frees the buffer.</summary>
    public void Release(object owner)
    {
        lock (_lock)
        {
            if (!ReferenceEquals(_owner, owner)) return;
            _owner = null;
            _rows = 0;
            _k = _v = [];
        }
    }

    public long BytesOwnedBy(object owner)
    {
        lock (_lock) return ReferenceEquals(_owner, owner) ? (_k.LongLength + _v.LongLength) * sizeof(float) : 0;
    }
}
