using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Sieve.Cache.Sparse;

/// <summary>
/// Rows of a selection gathered from row-major F32 or F16 storage into F32, runs of consecutive slots converted in one
/// call, the rows a few runs ahead prefetched. A decode step's selection is scattered (A²ATS at 3% of 32K: ~4,900 rows
/// of one KV head in ~3,500 runs), so without prefetching every run waits for DRAM in turn: on llama-1b at 32K the
/// gather of an offloaded a2ats step was 42% of its decode time, stalled on loads.
/// </summary>
public static unsafe class RowGather
{
    /// <summary>Rows ahead whose lines are requested while the current run converts; ~16 lines in flight.</summary>
    const int Ahead = 8;

    /// <summary>Checks that every slot lies in [0, <paramref name="count"/>) and that <paramref name="output"/> holds
    /// them (any order: selectors list a dense set or sinks before their picks).</summary>
    public static void Check(ReadOnlySpan<int> slots, int count, int headDim, int outputLength)
    {
        if (outputLength < (long)slots.Length * headDim)
            throw new ArgumentException($"output holds {outputLength} floats; {slots.Length} rows need {slots.Length * headDim}");
        foreach (int s in slots)
            if ((uint)s >= (uint)count) throw new ArgumentOutOfRangeException(nameof(slots), $"slot {s} is outside the {count} rows held");
    }

    /// <summary>Length of the run of consecutive slots that starts at <paramref name="i"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int RunAt(ReadOnlySpan<int> slots, int i)
    {
        int first = slots[i], run = 1;
        while (i + run < slots.Length && slots[i + run] == first + run) run++;
        return run;
    }

    /// <summary>Asks for the lines of the row <paramref name="Ahead"/> slots past <paramref name="i"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch(byte* rows, long rowBytes, ReadOnlySpan<int> slots, int i)
    {
        if (!Sse.IsSupported || i + Ahead >= slots.Length) return;
        byte* p = rows + slots[i + Ahead] * rowBytes;
        for (long o = 0; o < rowBytes; o += 64) Sse.Prefetch0(p + o);
    }

    /// <summary>Rows of <paramref name="slots"/> (already checked) from row-major storage into F32.</summary>
    public static void Gather(byte* rows, KvElement element, int headDim, ReadOnlySpan<int> slots, Span<float> output)
    {
        long rowBytes = (long)headDim * (element == KvElement.F32 ? 4 : 2);
        for (int i = 0, o = 0; i < slots.Length;)
        {
            int run = RunAt(slots, i);
            for (int p = 0; p < run; p++) Prefetch(rows, rowBytes, slots, i + p);
            Convert(rows + slots[i] * rowBytes, element, run * headDim, output.Slice(o, run * headDim));
            i += run;
            o += run * headDim;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Convert(byte* src, KvElement element, int n, Span<float> dst)
    {
        if (element == KvElement.F32) new ReadOnlySpan<float>(src, n).CopyTo(dst);
        else TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(src, n), dst[..n]);
    }
}
