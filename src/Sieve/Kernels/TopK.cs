using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Sieve.Kernels;

/// <summary>
/// The k highest scores' indices, ties to the lower index — a deterministic rule both versions follow exactly.
/// A size-k min-heap keeps the current threshold; the SIMD version skips 16 (AVX-512) or 8 (AVX2) scores at a time when none beats it,
/// which after the first few thousand tokens is nearly always, so selection costs about a compare per 16 tokens.
/// </summary>
public static unsafe class TopK
{
    /// <summary>Writes min(k, n) indices (in no particular order) to <paramref name="result"/>; returns how many.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Select(float* scores, int n, int k, int* result)
    {
        k = Math.Min(k, n);
        if (k <= 0) return 0;
        // Heap of (score, index), ordered so the root is the entry a newcomer must beat: the lowest score, and among
        // equal scores the highest index (a later equal score never replaces an earlier one).
        var heapScore = k <= 1024 ? stackalloc float[k] : new float[k];
        var heapIndex = result;
        for (int i = 0; i < k; i++)
        {
            heapScore[i] = scores[i];
            heapIndex[i] = i;
            SiftUp(heapScore, heapIndex, i);
        }
        int t = k;
        if (Vector512.IsHardwareAccelerated)
        {
            // Scalar until aligned to 16, then skip whole vectors that cannot enter.
            for (; t < n && (t & 15) != 0; t++) Offer(heapScore, heapIndex, k, scores[t], t);
            for (; t + 16 <= n; t += 16)
            {
                var v = Vector512.Load(scores + t);
                if (Vector512.GreaterThanAny(v, Vector512.Create(heapScore[0])))
                    for (int j = 0; j < 16; j++) Offer(heapScore, heapIndex, k, scores[t + j], t + j);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            // AVX2 machines (this one): the same skip, 8 scores at a time.
            for (; t < n && (t & 7) != 0; t++) Offer(heapScore, heapIndex, k, scores[t], t);
            for (; t + 8 <= n; t += 8)
            {
                var v = Vector256.Load(scores + t);
                if (Vector256.GreaterThanAny(v, Vector256.Create(heapScore[0])))
                    for (int j = 0; j < 8; j++) Offer(heapScore, heapIndex, k, scores[t + j], t + j);
            }
        }
        for (; t < n; t++) Offer(heapScore, heapIndex, k, scores[t], t);
        return k;
    }

    /// <summary>The definition: sort by (score descending, index ascending), take the first k.</summary>
    public static int[] SelectScalar(ReadOnlySpan<float> scores, int k)
    {
        var idx = Enumerable.Range(0, scores.Length).ToArray();
        var s = scores.ToArray();
        Array.Sort(idx, (a, b) => s[a] != s[b] ? s[b].CompareTo(s[a]) : a.CompareTo(b));
        return idx[..Math.Min(k, idx.Length)];
    }

    static void Offer(Span<float> hs, int* hi, int k, float score, int index)
    {
        if (!(score > hs[0])) return;   // equal scores keep the earlier index; NaN never enters
        hs[0] = score;
        hi[0] = index;
        SiftDown(hs, hi, k);
    }

    // "a below b" in heap order: lower score first; equal scores: higher index first.
    static bool Below(float sa, int ia, float sb, int ib) => sa < sb || (sa == sb && ia > ib);

    static void SiftUp(Span<float> hs, int* hi, int i)
    {
        while (i > 0)
        {
            int p = (i - 1) / 2;
            if (!Below(hs[i], hi[i], hs[p], hi[p])) break;
            (hs[i], hs[p]) = (hs[p], hs[i]);
            (hi[i], hi[p]) = (hi[p], hi[i]);
            i = p;
        }
    }

    static void SiftDown(Span<float> hs, int* hi, int k)
    {
        int i = 0;
        while (true)
        {
            int l = 2 * i + 1, r = l + 1, m = i;
            if (l < k && Below(hs[l], hi[l], hs[m], hi[m])) m = l;
            if (r < k && Below(hs[r], hi[r], hs[m], hi[m])) m = r;
            if (m == i) return;
            (hs[i], hs[m]) = (hs[m], hs[i]);
            (hi[i], hi[m]) = (hi[m], hi[i]);
            i = m;
        }
    }
}
