namespace Sieve.Cache;

/// <summary>
/// The latest prefill query rows of one layer, in a ring of <c>capacity</c> rows: what a press votes with (SnapKV's
/// observation window) and what the self-indexing cache picks its dense set and centres its Hamming query with.
/// </summary>
public sealed class RecentQueries(int capacity, int qDim)
{
    readonly float[] _rows = new float[Math.Max(1, capacity) * qDim];
    int _seen;

    public int Capacity { get; } = Math.Max(1, capacity);
    /// <summary>Rows held: the last min(seen, capacity).</summary>
    public int Count => Math.Min(_seen, Capacity);
    public long Bytes => _rows.LongLength * sizeof(float);

    public void Add(ReadOnlySpan<float> q, int count)
    {
        for (int j = Math.Max(0, count - Capacity); j < count; j++)
            q.Slice(j * qDim, qDim).CopyTo(_rows.AsSpan(_seen++ % Capacity * qDim, qDim));
    }

    /// <summary>Row <paramref name="r"/> of the held rows, oldest first (r = Count − 1 is the latest).</summary>
    public ReadOnlySpan<float> Row(int r) => _rows.AsSpan((_seen - Count + r) % Capacity * qDim, qDim);
}
