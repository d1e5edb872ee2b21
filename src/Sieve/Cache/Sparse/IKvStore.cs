namespace Sieve.Cache.Sparse;

/// <summary>
/// The full-precision keys and values of one (layer, KV head), in position order, behind one interface so the rows
/// may live in RAM (<see cref="HeadStore"/>) or in a slower tier (<see cref="Storage.FileKvStore"/>: a memory-mapped
/// file) while presses, selectors and attention read them the same way. Readers ask for runs of consecutive slots;
/// an offloaded store reads back only those runs, and counts them.
/// </summary>
public interface IKvStore
{
    int HeadDim { get; }
    KvElement Element { get; }

    /// <summary>Rows held.</summary>
    int Count { get; }
    /// <summary>Rows held when the layer crossed the prefill/decode boundary (after its press); -1 before.</summary>
    int PromptCount { get; set; }
    /// <summary>Rows the store can hold before it grows.</summary>
    int Capacity { get; }

    /// <summary>The position of the row in <paramref name="slot"/> (its slot unless rows were evicted).</summary>
    int PositionOf(int slot);
    /// <summary>Rows with position ≤ <paramref name="position"/> (positions ascend).</summary>
    int CountUpTo(int position);

    void Add(int position, ReadOnlySpan<float> key, ReadOnlySpan<float> value);

    /// <summary>Keys of rows [start, start+count) as F32, row-major into <paramref name="output"/>.</summary>
    void ReadKeys(int start, int count, Span<float> output);
    void ReadValues(int start, int count, Span<float> output);
    void ReadKey(int slot, Span<float> output) => ReadKeys(slot, 1, output);
    void ReadValue(int slot, Span<float> output) => ReadValues(slot, 1, output);

    /// <summary>Keys of the given slots (each below <see cref="Count"/>, in any order) as F32, one row after
    /// another: a selection in one call, so a store can convert runs together, prefetch ahead and count its reads once
    /// (<see cref="RowGather"/>). The default reads each run through <see cref="ReadKeys"/>.</summary>
    void GatherKeys(ReadOnlySpan<int> slots, Span<float> output) => GatherRuns(slots, output, keys: true);
    void GatherValues(ReadOnlySpan<int> slots, Span<float> output) => GatherRuns(slots, output, keys: false);

    private void GatherRuns(ReadOnlySpan<int> slots, Span<float> output, bool keys)
    {
        RowGather.Check(slots, Count, HeadDim, output.Length);
        for (int i = 0; i < slots.Length;)
        {
            int run = RowGather.RunAt(slots, i);
            var dst = output.Slice(i * HeadDim, run * HeadDim);
            if (keys) ReadKeys(slots[i], run, dst);
            else ReadValues(slots[i], run, dst);
            i += run;
        }
    }

    /// <summary>Keeps only the given rows (ascending slot indices), in order, with room for <paramref name="room"/> more.</summary>
    void KeepOnly(ReadOnlySpan<int> slots, int room);
    void Truncate(int count);

    /// <summary>Bytes per row in this store's element type: K and V, plus its position when positions are tracked.</summary>
    int RowBytes { get; }
    /// <summary>Bytes this store holds in RAM (an offloaded store: what it keeps resident, not its file).</summary>
    long Bytes { get; }
    /// <summary>Bytes it holds in the slower tier (0 for an in-memory store).</summary>
    long OffloadedBytes => 0;
    /// <summary>Bytes one more row costs now: <see cref="RowBytes"/> for a full-precision store; a compressing store's
    /// code bytes (Self-Indexing: 56 B at head dim 64), which need not be a whole number of bytes.</summary>
    double BytesPerToken => RowBytes;

    /// <summary>
    /// Keys come back as k − offset for this vector (Self-Indexing centres them by the prompt's per-channel median);
    /// empty when they come back as stored. Softmax forgives the shift q·offset, a soft-cap does not, so attention adds
    /// it back before capping.
    /// </summary>
    ReadOnlySpan<float> KeyOffset => default;
}
