using Sieve.Models;

namespace Sieve.Eval;

/// <summary>Perplexity of a model on a token sequence and its divergence from a baseline, as llama-perplexity reports them.</summary>
public sealed record LogitComparison(int Tokens, double BaselinePerplexity, double Perplexity, double MeanKlDivergence, double MaxKlDivergence, double TopTokenAgreement, double RelativeRmsError)
{
    /// <summary>
    /// Runs <paramref name="tokens"/> through both models in one prefill each; position t predicts token t+1.
    /// KL is KL(baseline ‖ candidate) per position, in nats.
    /// </summary>
    public static LogitComparison Measure(ForwardRunner baseline, ForwardRunner candidate, IReadOnlyList<int> tokens)
    {
        if (tokens.Count < 2) throw new ArgumentException("need at least two tokens");
        int n = tokens.Count, vocab = baseline.Config.VocabSize;
        var ids = tokens.ToArray();
        var a = baseline.PrefillAllLogits(ids, 0, baseline.CreateDenseCache(n)).ToArray();
        var b = candidate.PrefillAllLogits(ids, 0, candidate.CreateDenseCache(n)).ToArray();
        double nllA = 0, nllB = 0, klSum = 0, klMax = 0, errSq = 0, refSq = 0;
        int agree = 0;
        var pa = new double[vocab];
        var pb = new double[vocab];
        for (int t = 0; t < n - 1; t++)
        {
            var la = a.AsSpan(t * vocab, vocab);
            var lb = b.AsSpan(t * vocab, vocab);
            LogSoftmax(la, pa);
            LogSoftmax(lb, pb);
            int next = ids[t + 1];
            nllA -= pa[next];
            nllB -= pb[next];
            double kl = 0;
            for (int i = 0; i < vocab; i++) kl += Math.Exp(pa[i]) * (pa[i] - pb[i]);
            klSum += kl;
            klMax = Math.Max(klMax, kl);
            if (ArgMax(la) == ArgMax(lb)) agree++;
            for (int i = 0; i < vocab; i++) { double d = la[i] - lb[i]; errSq += d * d; refSq += (double)la[i] * la[i]; }
        }
        int m = n - 1;
        return new LogitComparison(m, Math.Exp(nllA / m), Math.Exp(nllB / m), klSum / m, klMax, (double)agree / m, Math.Sqrt(errSq / refSq));
    }

    static void LogSoftmax(ReadOnlySpan<float> logits, double[] output)
    {
        double max = double.NegativeInfinity;
        foreach (var l in logits) max = Math.Max(max, l);
        double sum = 0;
        for (int i = 0; i < logits.Length; i++) sum += Math.Exp(logits[i] - max);
        double logZ = max + Math.Log(sum);
        for (int i = 0; i < logits.Length; i++) output[i] = logits[i] - logZ;
    }

    static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    public override string ToString() =>
        $"{Tokens} tokens: PPL {BaselinePerplexity:F4} → {Perplexity:F4} ({(Perplexity / BaselinePerplexity - 1) * 100:+0.00;-0.00}%), " +
        $"mean KL {MeanKlDivergence:E3} (max {MaxKlDivergence:E3}), top-1 agreement {TopTokenAgreement:P1}, logit rel. RMS {RelativeRmsError:E2}";
}
