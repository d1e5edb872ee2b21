namespace Sieve.Cache.A2ats;

/// <summary>
/// The union over a GQA group of each query head's top K tokens, when a token's score is LUT_h[code(token)]: found
/// from the codebook side instead of scoring every token G times. Every token with one code has one score, so a
/// head's top K is "every code whose value beats a threshold T_h, plus the first few tokens (lowest position first)
/// of the code(s) equal to T_h" — T_h found by a weighted selection over the ≤ K distinct codes present, each
/// weighing its token count. Then one pass over the tokens' codes emits the union.
/// </summary>
/// <remarks>
/// The per-token way (score n tokens, heap top-K, G times, then union) costs G·n gathers and G heap passes: at
/// 32K tokens and G = 8 (llama-1b) that is 262K gathers and 8 heaps per KV head and step. This costs one counting
/// pass over n codes, G selections over ≤ 4096 codes, and one emitting pass over n codes. The result is identical
/// to the per-token way with <see cref="Kernels.TopK"/>'s tie rule (equal scores: lower index first) — its scalar
/// twin in the tests.
/// </remarks>
public sealed class CodeTopK
{
    int[] _count = [], _present = [], _order = [], _quota = [];
    float[] _value = [];
    bool[] _full = [];
    ulong[] _boundary = [];

    /// <summary>
    /// Appends to <paramref name="picked"/> (ascending, offset by <paramref name="first"/>) the union over the
    /// <paramref name="groups"/> tables of each one's top <paramref name="k"/> among <paramref name="codes"/>
    /// (table g at <c>luts[g * lutLength ..]</c>); returns how many.
    /// </summary>
    public int Select(ReadOnlySpan<ushort> codes, ReadOnlySpan<float> luts, int lutLength, int groups, int k, int first, List<int> picked)
    {
        int n = codes.Length;
        if (groups > 64) throw new ArgumentException($"{groups} query heads per KV head: at most 64");
        if (n == 0 || k <= 0) return 0;
        int before = picked.Count;
        if (k >= n)
        {
            for (int t = 0; t < n; t++) picked.Add(first + t);
            return n;
        }
        Ensure(ref _count, lutLength);
        Ensure(ref _full, lutLength);
        Ensure(ref _boundary, lutLength);
        Ensure(ref _quota, groups);
        Array.Clear(_count, 0, lutLength);
        foreach (ushort c in codes) _count[c]++;
        // The codes present: the only candidates for a threshold.
        int m = 0;
        Ensure(ref _present, Math.Min(lutLength, n));
        for (int c = 0; c < lutLength; c++) if (_count[c] > 0) _present[m++] = c;
        Ensure(ref _order, m);
        Ensure(ref _value, m);
        for (int i = 0; i < m; i++) { _full[_present[i]] = false; _boundary[_present[i]] = 0; }
        for (int g = 0; g < groups; g++)
        {
            var lut = luts.Slice(g * lutLength, lutLength);
            for (int i = 0; i < m; i++) { _order[i] = _present[i]; _value[i] = lut[_present[i]]; }
            _quota[g] = Threshold(m, k, g);
        }
        Span<int> quota = _quota.AsSpan(0, groups);
        for (int t = 0; t < n; t++)
        {
            int c = codes[t];
            bool take = _full[c];
            for (ulong heads = _boundary[c]; heads != 0; heads &= heads - 1)
            {
                int g = System.Numerics.BitOperations.TrailingZeroCount(heads);
                if (quota[g] > 0) { quota[g]--; take = true; }
            }
            if (take) picked.Add(first + t);
        }
        return picked.Count - before;
    }

    /// <summary>
    /// Marks head <paramref name="head"/>'s codes: those above its threshold in <see cref="_full"/>, those equal to it
    /// in <see cref="_boundary"/>; returns how many tokens of the boundary codes it takes. A three-way quickselect on
    /// the (value, code) pairs [0, m) weighted by token counts.
    /// </summary>
    int Threshold(int m, int k, int head)
    {
        int lo = 0, hi = m;          // the undecided codes; everything before lo is above, after hi below
        int need = k;
        var rng = (uint)(m * 2654435761u + (uint)head);
        while (true)
        {
            // Pivot: the median of three values of the range.
            int len = hi - lo;
            rng = rng * 1664525u + 1013904223u;
            float a = _value[lo + (int)(rng % (uint)len)], b = _value[lo + len / 2], c = _value[hi - 1];
            float pivot = Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
            // Dutch flag: [lo, gt) > pivot, [gt, eq) == pivot, [lt, hi) < pivot.
            int gt = lo, i = lo, lt = hi;
            while (i < lt)
            {
                float v = _value[i];
                if (v > pivot) { Swap(i, gt); gt++; i++; }
                else if (v < pivot) { lt--; Swap(i, lt); }
                else i++;
            }
            int above = 0, equal = 0;
            for (int j = lo; j < gt; j++) above += _count[_order[j]];
            if (above >= need)
            {
                hi = gt;                                      // the threshold is among the greater codes
                continue;
            }
            for (int j = gt; j < lt; j++) equal += _count[_order[j]];
            if (above + equal >= need)
            {
                for (int j = 0; j < gt; j++) _full[_order[j]] = true;
                ulong bit = 1UL << head;
                for (int j = gt; j < lt; j++) _boundary[_order[j]] |= bit;
                return need - above;
            }
            need -= above + equal;                            // all of [lo, lt) is in; look below
            lo = lt;
        }
    }

    void Swap(int i, int j)
    {
        (_order[i], _order[j]) = (_order[j], _order[i]);
        (_value[i], _value[j]) = (_value[j], _value[i]);
    }

    static void Ensure<T>(ref T[] a, int n)
    {
        if (a.Length < n) a = new T[Math.Max(n, a.Length * 2)];
    }
}
