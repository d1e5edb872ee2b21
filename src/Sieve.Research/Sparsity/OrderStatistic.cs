using System.Numerics;

namespace Sieve.Sparsity;

/// <summary>
/// CHESS's kth(v, s): the value below which a fraction s of v lies, as both CHESS repositories compute it with
/// <c>torch.kthvalue(v, int(s·|v|))</c>. kthvalue counts from 1, so the threshold is the ⌊s·n⌋-th smallest value,
/// 0-based index ⌊s·n⌋ − 1: with the keep rule |x| ≥ θ, the ⌊s·n⌋ − 1 values below it (all distinct) are zeroed,
/// one short of s·n, as in the repositories. s·n &lt; 1 (s = 0 included) has no such value: the threshold is 0 and
/// nothing is zeroed. Selection is in place and O(n) (quickselect, median-of-three, a sort after 2·log₂n rounds
/// that found no good pivot), so a 2,048-token × 14,336-channel document layer (29 M values) costs ~0.1 s, not a sort.
/// </summary>
public static class OrderStatistic
{
    /// <summary>The 0-based index of kth(v, s) in sorted v, or −1 when ⌊s·n⌋ = 0 (the threshold is then 0).</summary>
    public static long Index(double s, long n)
    {
        long k = (long)Math.Floor(s * n) - 1;
        return Math.Min(k, n - 1);
    }

    /// <summary>
    /// Writes kth(values, s) for each index of <paramref name="indices"/> (ascending, from <see cref="Index"/>; −1
    /// gives 0) into <paramref name="results"/>. Reorders <paramref name="values"/>; they must hold no NaN.
    /// </summary>
    public static void Select<T>(Span<T> values, ReadOnlySpan<long> indices, Span<T> results) where T : INumber<T>
    {
        int lo = 0;
        for (int i = 0; i < indices.Length; i++)
        {
            long k = indices[i];
            if (i > 0 && k < indices[i - 1]) throw new ArgumentException("indices must be ascending", nameof(indices));
            if (k < 0) { results[i] = T.Zero; continue; }
            if (k >= values.Length) throw new ArgumentOutOfRangeException(nameof(indices), $"index {k} of {values.Length} values");
            if (i > 0 && k == indices[i - 1]) { results[i] = results[i - 1]; continue; }
            // After selecting k in [lo, n), [k+1, n) holds exactly the order statistics above k: the next index is found there.
            SelectInPlace(values[lo..], (int)k - lo);
            results[i] = values[(int)k];
            lo = (int)k + 1;
        }
    }

    /// <summary>kth(values, s) for one s (see the class remarks); reorders <paramref name="values"/>.</summary>
    public static T Kth<T>(Span<T> values, double s) where T : INumber<T>
    {
        Span<T> r = [T.Zero];
        Select(values, [Index(s, values.Length)], r);
        return r[0];
    }

    /// <summary>Moves the k-th smallest value to index k, smaller or equal ones before it, greater or equal ones after.</summary>
    static void SelectInPlace<T>(Span<T> v, int k) where T : INumber<T>
    {
        int lo = 0, hi = v.Length - 1;
        int budget = 2 * BitOperations.Log2((uint)Math.Max(v.Length, 1)) + 4;
        while (hi > lo)
        {
            if (hi - lo < 16) { v[lo..(hi + 1)].Sort(); return; }
            if (budget-- == 0) { v[lo..(hi + 1)].Sort(); return; }   // pathological pivots: O(n log n) once, never O(n²)
            int mid = lo + (hi - lo) / 2;
            if (v[mid] < v[lo]) (v[mid], v[lo]) = (v[lo], v[mid]);
            if (v[hi] < v[lo]) (v[hi], v[lo]) = (v[lo], v[hi]);
            if (v[hi] < v[mid]) (v[hi], v[mid]) = (v[mid], v[hi]);
            T pivot = v[mid];
            // Hoare partition: afterwards [lo, j] ≤ pivot, [i, hi] ≥ pivot, and anything strictly between equals it.
            int a = lo, b = hi;
            while (a <= b)
            {
                while (v[a] < pivot) a++;
                while (v[b] > pivot) b--;
                if (a <= b) { (v[a], v[b]) = (v[b], v[a]); a++; b--; }
            }
            if (k <= b) hi = b;
            else if (k >= a) lo = a;
            else return;
        }
    }
}
