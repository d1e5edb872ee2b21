using Sieve.Eval.Tasks;
using Sieve.Models;
using Sieve.Tokenization;

namespace Sieve.Eval;

/// <summary>Per-sample outcome: each choice's log-likelihood, and whether acc / acc_norm count it correct.</summary>
public sealed record McqSampleResult(string Id, int Gold, double[] LogLikelihoods, int Predicted, int PredictedNorm)
{
    public bool Correct => Predicted == Gold;
    public bool CorrectNorm => PredictedNorm == Gold;
}

/// <summary>
/// Scores multiple-choice samples exactly as lm-evaluation-harness's <c>loglikelihood</c> does: context trailing
/// spaces move to the continuation, the continuation's tokens are <c>tok(context + continuation)</c> past
/// <c>len(tok(context))</c>, and its score is the sum of log-softmax over its positions. acc takes the argmax of the
/// sums; acc_norm divides each by the choice's length in characters.
/// </summary>
public sealed class McqScorer(Transformer model, TextTokenizer tokenizer)
{
    /// <summary>Forward passes run so far (each choice of each sample is one prefill).</summary>
    public int ForwardPasses { get; private set; }

    public (int[] Context, int[] Continuation) EncodePair(string context, string continuation)
    {
        int trailing = context.Length - context.TrimEnd(' ').Length;
        if (trailing > 0)
        {
            continuation = context[^trailing..] + continuation;
            context = context[..^trailing];
        }
        var whole = tokenizer.Encode(context + continuation);
        var ctx = tokenizer.Encode(context);
        var cont = whole.Length > ctx.Length ? whole[ctx.Length..] : [];
        return (ctx, cont);
    }

    /// <summary>Σ log p(continuation token | everything before it).</summary>
    public double LogLikelihood(string context, string continuation)
    {
        var (ctx, cont) = EncodePair(context, continuation);
        if (cont.Length == 0) return 0;
        var input = ctx.Concat(cont).ToArray()[..^1];
        int vocab = model.Config.VocabSize;
        var logits = model.PrefillAllLogits(input, 0, model.CreateDenseCache(input.Length));
        ForwardPasses++;
        double sum = 0;
        for (int i = 0; i < cont.Length; i++)
            sum += LogSoftmaxAt(logits.Slice((ctx.Length - 1 + i) * vocab, vocab), cont[i]);
        return sum;
    }

    public McqSampleResult Score(McqSample s)
    {
        var ll = s.Choices.Select((_, i) => s.Request(i)).Select(r => LogLikelihood(r.Context, r.Continuation)).ToArray();
        int pred = ArgMax(ll);
        int predNorm = ArgMax(ll.Select((v, i) => v / s.NormLength(i)).ToArray());
        return new McqSampleResult(s.Id, s.Gold, ll, pred, predNorm);
    }

    internal static double LogSoftmaxAt(ReadOnlySpan<float> logits, int index)
    {
        double max = double.NegativeInfinity;
        foreach (var l in logits) max = Math.Max(max, l);
        double sum = 0;
        foreach (var l in logits) sum += Math.Exp(l - max);
        return logits[index] - max - Math.Log(sum);
    }

    internal static int ArgMax(IReadOnlyList<double> x)
    {
        int best = 0;
        for (int i = 1; i < x.Count; i++) if (x[i] > x[best]) best = i;
        return best;
    }
}
