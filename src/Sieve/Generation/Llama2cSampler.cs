namespace Sieve.Generation;

/// <summary>
/// run.c's sampler, step for step: logits/temperature, softmax, then one coin per token — multinomial over the
/// CDF, or llama2.c's nucleus rule (drop p &lt; (1-topp)/(n-1), sort, cut after the cumulative sum passes topp,
/// scale the coin by the kept mass). Scalar f32 arithmetic in run.c's order, so seeded outputs match byte for byte.
/// </summary>
public sealed class Llama2cSampler(SamplingOptions options) : ISampler
{
    readonly XorShiftRandom _rng = new(options.Seed ?? (ulong)Environment.TickCount64);
    (float P, int Index)[] _candidates = [];

    /// <remarks>run.c has no penalties: <see cref="SamplingOptions.Validate"/> refuses presence and frequency penalties here.</remarks>
    public int Sample(Span<float> logits, IReadOnlyList<int> history, int generated)
    {
        if (options.Temperature == 0) return ArgMax(logits);
        for (int i = 0; i < logits.Length; i++) logits[i] /= options.Temperature;
        SoftmaxScalar(logits);
        float coin = _rng.NextSingle();
        float topp = options.TopP;
        return topp <= 0 || topp >= 1 ? Multinomial(logits, coin) : Nucleus(logits, topp, coin);
    }

    static int ArgMax(ReadOnlySpan<float> p)
    {
        int best = 0;
        for (int i = 1; i < p.Length; i++) if (p[i] > p[best]) best = i;
        return best;
    }

    static void SoftmaxScalar(Span<float> x)
    {
        float max = x[0];
        for (int i = 1; i < x.Length; i++) if (x[i] > max) max = x[i];
        float sum = 0;
        for (int i = 0; i < x.Length; i++) { x[i] = MathF.Exp(x[i] - max); sum += x[i]; }
        for (int i = 0; i < x.Length; i++) x[i] /= sum;
    }

    static int Multinomial(ReadOnlySpan<float> p, float coin)
    {
        float cdf = 0;
        for (int i = 0; i < p.Length; i++)
        {
            cdf += p[i];
            if (coin < cdf) return i;
        }
        return p.Length - 1;   // rounding left the CDF short of 1
    }

    int Nucleus(ReadOnlySpan<float> p, float topp, float coin)
    {
        if (_candidates.Length < p.Length) _candidates = new (float, int)[p.Length];
        // Tokens below this cannot be in the nucleus; dropping them first keeps the sort short.
        float cutoff = (1.0f - topp) / (p.Length - 1);
        int n0 = 0;
        for (int i = 0; i < p.Length; i++)
            if (p[i] >= cutoff) _candidates[n0++] = (p[i], i);
        var kept = _candidates.AsSpan(0, n0);
        kept.Sort(static (a, b) => b.P.CompareTo(a.P) is var c && c != 0 ? c : a.Index.CompareTo(b.Index));

        float cumulative = 0;
        int last = n0 - 1;
        for (int i = 0; i < n0; i++)
        {
            cumulative += kept[i].P;
            if (cumulative > topp) { last = i; break; }
        }
        float r = coin * cumulative;
        float cdf = 0;
        for (int i = 0; i <= last; i++)
        {
            cdf += kept[i].P;
            if (r < cdf) return kept[i].Index;
        }
        return kept[last].Index;
    }
}
