using System.Numerics.Tensors;

namespace Sieve.Generation;

/// <summary>
/// llama.cpp's default order: penalties (repetition, then OpenAI's presence and frequency) → top-k → top-p → min-p
/// → temperature → draw. Candidates are kept sorted once top-k has cut them, so top-p and min-p are a scan.
/// </summary>
public sealed class SamplerChain(SamplingOptions options) : ISampler
{
    readonly Random _rng = options.Seed is { } s ? new Random(unchecked((int)s ^ (int)(s >> 32))) : new Random();
    int[] _order = [];
    float[] _probs = [];

    public int Sample(Span<float> logits, IReadOnlyList<int> history, int generated)
    {
        var o = options;
        if (o.RepeatPenalty != 1f && history.Count > 0)
        {
            var seen = new HashSet<int>();
            for (int i = Math.Max(0, history.Count - o.RepeatLastN); i < history.Count; i++)
            {
                int t = history[i];
                if ((uint)t >= (uint)logits.Length || !seen.Add(t)) continue;
                logits[t] = logits[t] > 0 ? logits[t] / o.RepeatPenalty : logits[t] * o.RepeatPenalty;
            }
        }
        if ((o.PresencePenalty != 0 || o.FrequencyPenalty != 0) && generated > 0)
            PresenceAndFrequency(logits, history, Math.Min(generated, history.Count));
        // Penalties come before this, so they steer greedy decoding too (llama.cpp applies its penalties before greedy).
        if (o.Temperature <= 0) return TensorPrimitives.IndexOfMax(logits);

        int n = logits.Length;
        if (_order.Length < n) { _order = new int[n]; _probs = new float[n]; }
        int k = o.TopK > 0 ? Math.Min(o.TopK, n) : n;
        // No filter (OpenAI's defaults: top-k off, top-p 1, min-p 0): the draw needs no order, and sorting a 128K
        // vocabulary costs milliseconds per token per sequence, on the thread every batched step waits for.
        if (k == n && o.TopP >= 1f && o.MinP <= 0f) return DrawAll(logits, o.Temperature);
        var order = _order.AsSpan(0, n);
        float denominator = 0;   // the softmax's denominator at temperature 1; 0: the survivors' own sum
        if (k == n) (k, denominator) = NucleusBound(logits, order, o);
        else SortTop(logits, order, k);
        order = order[..k];

        // Softmax over the survivors, at temperature 1 for the filters (as llama.cpp's top-p/min-p see them).
        var probs = _probs.AsSpan(0, k);
        for (int i = 0; i < k; i++) probs[i] = logits[order[i]];
        float max = probs[0];
        TensorPrimitives.Subtract(probs, max, probs);
        TensorPrimitives.Exp(probs, probs);
        TensorPrimitives.Divide(probs, denominator > 0 ? denominator : TensorPrimitives.Sum(probs), probs);

        int keep = k;
        if (o.TopP < 1f)
        {
            float cum = 0;
            for (int i = 0; i < k; i++)
            {
                cum += probs[i];
                if (cum >= o.TopP) { keep = i + 1; break; }
            }
        }
        if (o.MinP > 0f)
        {
            float floor = o.MinP * probs[0];
            int m = 1;
            while (m < keep && probs[m] >= floor) m++;
            keep = m;
        }

        // Temperature on the kept logits, then draw.
        var kept = probs[..keep];
        for (int i = 0; i < keep; i++) kept[i] = (logits[order[i]] - logits[order[0]]) / o.Temperature;
        TensorPrimitives.Exp(kept, kept);
        float total = TensorPrimitives.Sum(kept);
        double r = _rng.NextDouble() * total, acc = 0;
        for (int i = 0; i < keep; i++)
        {
            acc += kept[i];
            if (r < acc) return order[i];
        }
        return order[keep - 1];
    }

    /// <summary>
    /// With top-k off, top-p and min-p still look only at the head of the sorted vocabulary: sort the top 256, and
    /// 4× more (at most a sixteenth of the vocabulary, then all of it) while that head holds less than top-p of the
    /// probability and its last token still passes min-p.
    /// Returns how many to keep sorted (at the front of <paramref name="order"/>) and the softmax denominator over
    /// the whole vocabulary, so the head's probabilities are what a full sort gives: 27 ms → ~2 ms a token at 128K.
    /// </summary>
    (int K, float Total) NucleusBound(ReadOnlySpan<float> logits, Span<int> order, SamplingOptions o)
    {
        int n = logits.Length;
        var p = _probs.AsSpan(0, n);
        float max = TensorPrimitives.Max(logits);
        TensorPrimitives.Subtract(logits, max, p);
        TensorPrimitives.Exp(p, p);
        float total = TensorPrimitives.Sum(p);
        // Past a sixteenth of the vocabulary a bounded heap costs as much as the full sort (a flat distribution, as random
        // weights give, needs nearly all of it): go straight to the full sort then.
        for (int k = Math.Min(256, n); ; k = 4 * k > n / 16 ? n : 4 * k)
        {
            SortTop(logits, order, k);
            if (k == n) return (k, total);
            double cum = 0;
            for (int i = 0; i < k; i++) cum += p[order[i]];
            if (cum / total >= o.TopP) return (k, total);
            if (o.MinP > 0 && p[order[k - 1]] < o.MinP * p[order[0]]) return (k, total);
        }
    }

    /// <summary>A draw from softmax(logits / T) over the whole vocabulary, accumulated in id order.</summary>
    int DrawAll(ReadOnlySpan<float> logits, float temperature)
    {
        var p = _probs.AsSpan(0, logits.Length);
        TensorPrimitives.Subtract(logits, TensorPrimitives.Max(logits), p);
        TensorPrimitives.Divide(p, temperature, p);
        TensorPrimitives.Exp(p, p);
        double r = _rng.NextDouble() * TensorPrimitives.Sum(p), acc = 0;
        int last = 0;
        for (int i = 0; i < p.Length; i++)
        {
            if (p[i] == 0) continue;
            acc += p[i];
            last = i;
            if (r < acc) return i;
        }
        return last;   // r landed on the rounding between the float sum and this double one
    }

    /// <summary>
    /// OpenAI's penalties: logit[t] −= count[t] × frequency + (count[t] &gt; 0) × presence, where count[t] is how often
    /// the reply holds t. Only the last <paramref name="generated"/> tokens of the history (this request's output)
    /// count, as in OpenAI's API, which this implements; llama.cpp's penalty_last_n window counts prompt tokens too,
    /// which would penalise a reply for quoting its question.
    /// </summary>
    void PresenceAndFrequency(Span<float> logits, IReadOnlyList<int> history, int generated)
    {
        _counts.Clear();
        for (int i = history.Count - generated; i < history.Count; i++)
        {
            int t = history[i];
            if ((uint)t < (uint)logits.Length) _counts[t] = _counts.GetValueOrDefault(t) + 1;
        }
        foreach (var (t, count) in _counts)
            logits[t] -= count * options.FrequencyPenalty + options.PresencePenalty;
    }

    readonly Dictionary<int, int> _counts = [];

    /// <summary>Moves the k largest logits to the front of <paramref name="order"/>, sorted descending (ties: lower id first).</summary>
    /// <remarks>A k-sized min-heap: O(n log k), no allocation, ~0.3 ms for a 150k vocabulary with k = 40.</remarks>
    static void SortTop(ReadOnlySpan<float> logits, Span<int> order, int k)
    {
        int n = logits.Length;
        // order[0..k) is the heap; the root holds the smallest survivor.
        int size = 0;
        for (int i = 0; i < n; i++)
        {
            if (size < k)
            {
                int c = size++;
                while (c > 0 && Less(logits, i, order[(c - 1) / 2])) { order[c] = order[(c - 1) / 2]; c = (c - 1) / 2; }
                order[c] = i;
            }
            else if (Less(logits, order[0], i))
            {
                SiftDown(logits, order, size, i);
            }
        }
        // Heap-sort in place: repeatedly move the smallest to the end, leaving the prefix descending.
        for (int end = size - 1; end > 0; end--)
        {
            int smallest = order[0];
            SiftDown(logits, order, end, order[end]);
            order[end] = smallest;
        }
    }

    /// <summary>"a ranks below b": smaller logit, or equal logit and higher id.</summary>
    static bool Less(ReadOnlySpan<float> l, int a, int b) => l[a] < l[b] || (l[a] == l[b] && a > b);

    static void SiftDown(ReadOnlySpan<float> l, Span<int> heap, int size, int item)
    {
        int p = 0;
        while (true)
        {
            int c = 2 * p + 1;
            if (c >= size) break;
            if (c + 1 < size && Less(l, heap[c + 1], heap[c])) c++;
            if (!Less(l, heap[c], item)) break;
            heap[p] = heap[c];
            p = c;
        }
        heap[p] = item;
    }
}
