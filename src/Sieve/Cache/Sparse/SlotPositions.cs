namespace Sieve.Cache.Sparse;

/// <summary>
/// The position bookkeeping every <see cref="IKvStore"/> shares: rows ascend by position; without eviction a row's
/// slot is its position and no array is kept, after a press each row's position is stored.
/// </summary>
internal static class SlotPositions
{
    /// <summary>Rows among the first <paramref name="count"/> with position ≤ <paramref name="position"/>.</summary>
    public static int CountUpTo(int[]? positions, int count, int position)
    {
        if (positions == null) return Math.Clamp(position + 1, 0, count);
        int i = Array.BinarySearch(positions, 0, count, position);
        return i >= 0 ? i + 1 : ~i;
    }

    /// <summary>Refuses a row whose position does not follow the last one held (or, without positions, is not the next slot).</summary>
    public static void CheckNext(int[]? positions, int count, int position)
    {
        int last = count > 0 ? positions?[count - 1] ?? count - 1 : -1;
        if (positions == null ? position != count : position <= last)
            throw new InvalidOperationException($"position {position} cannot follow position {last} in this store");
    }
}
