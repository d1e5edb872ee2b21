namespace Sieve.Cache.SelfIndexing;

/// <summary>The lower median (element ⌊(n−1)/2⌋ in sorted order, as torch.median returns), by quickselect in O(n).</summary>
public static class Median
{
    public static float Lower(Span<float> values)
    {
        if (values.IsEmpty) throw new ArgumentException("median of nothing");
        int k = (values.Length - 1) / 2, lo = 0, hi = values.Length - 1;
        while (lo < hi)
        {
            // Median-of-three pivot, then Hoare partition.
            int mid = lo + (hi - lo) / 2;
            float a = values[lo], b = values[mid], c = values[hi];
            float pivot = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
            int i = lo, j = hi;
            while (i <= j)
            {
                while (values[i] < pivot) i++;
                while (values[j] > pivot) j--;
                if (i <= j) { (values[i], values[j]) = (values[j], values[i]); i++; j--; }
            }
            if (k <= j) hi = j;
            else if (k >= i) lo = i;
            else return values[k];
        }
        return values[k];
    }
}
