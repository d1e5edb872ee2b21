namespace Sieve.Cache.A2ats;

/// <summary>
/// The union over a GQA group of each query head's top K tokens, when a token's score is LUT_h[code(token)]: found
/// from the codebook side instead of scoring every token G times. Every token with one code has one score, so a
/// head's top K is "every code whose value beats a threshold T_h, plus the first few tokens (lowest position first)
/// of the code(s) equal to T_h" — T_h found by a weighted radix selection over the ≤ K distinct codes present, each
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
    int[] _count = [], _present = [], _quota = [], _candidate = [];
    uint[] _key = [];
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
        Ensure(ref _value, m);
        Ensure(ref _key, m);
        Ensure(ref _candidate, m);
        for (int i = 0; i < m; i++) { _full[_present[i]] = false; _boundary[_present[i]] = 0; }
        for (int g = 0; g < groups; g++)
        {
            var lut = luts.Slice(g * lutLength, lutLength);
            for (int i = 0; i < m; i++) _value[i] = lut[_present[i]];
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
    /// in <see cref="_boundary"/>; returns how many tokens of the boundary codes it takes. The threshold is the value
    /// of the k-th token from the top, found by a radix selection on the values' order-preserving bits, a byte at a
    /// time, each bucket weighed by its codes' token counts: three short branch-free passes over the ≤ 4096 codes
    /// where a quickselect's unpredictable three-way partition took ~14% of a 32K-token a2ats decode step.
    /// </summary>
    int Threshold(int m, int k, int head)
    {
        Span<int> weight = stackalloc int[256];
        int candidates = m, need = k;
        for (int i = 0; i < m; i++) { _key[i] = OrderedBits(_value[i]); _candidate[i] = i; }
        uint prefix = 0;
        for (int shift = 24; shift >= 0; shift -= 8)
        {
            weight.Clear();
            for (int j = 0; j < candidates; j++)
            {
                int i = _candidate[j];
                weight[(int)(_key[i] >> shift) & 0xFF] += _count[_present[i]];
            }
            int bucket = 255;
            while (weight[bucket] < need) need -= weight[bucket--];   // the k-th token from the top is in `bucket`
            prefix |= (uint)bucket << shift;
            int kept = 0;
            for (int j = 0; j < candidates; j++)
            {
                int i = _candidate[j];
                if (((_key[i] >> shift) & 0xFF) == bucket) _candidate[kept++] = i;
            }
            candidates = kept;
        }
        // prefix is now the threshold's key; need, the tokens the head still takes from the codes equal to it.
        ulong bit = 1UL << head;
        for (int i = 0; i < m; i++)
        {
            if (_key[i] > prefix) _full[_present[i]] = true;
            else if (_key[i] == prefix) _boundary[_present[i]] |= bit;
        }
        return need;
    }

    /// <summary>Float bits as an unsigned key in the floats' order; −0 is keyed as +0, since they compare equal.</summary>
    static uint OrderedBits(float v)
    {
        uint u = BitConverter.SingleToUInt32Bits(v == 0 ? 0f : v);
        return (u & 0x8000_0000u) != 0 ? ~u : u | 0x8000_0000u;
    }

    static void Ensure<T>(ref T[] a, int n)
    {
        if (a.Length < n) a = new T[Math.Max(n, a.Length * 2)];
    }
}
