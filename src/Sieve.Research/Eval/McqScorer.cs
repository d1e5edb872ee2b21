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
/// <summary>Scores multiple-choice samples as lm-evaluation-harness does.</summary>
/// <remarks>
/// Scores multiple-choice samples exactly as lm-evaluation-harness's <c>loglikelihood</c> does: context trailing
/// spaces move to the continuation, the continuation's tokens are <c>tok(context + continuation)</c> past
/// <c>len(tok(context))</c>, and its score is the sum of log-softmax over its positions. acc takes the argmax of the
/// sums; acc_norm divides each by the choice's length in characters. A request longer than the model's context is cut
/// from the left as the harness cuts it (<c>(context + continuation)[-(max_length + 1):][:-1]</c>), and counted in
/// <see cref="TruncatedSamples"/> so the caller can say so.
/// </remarks>
public sealed class McqScorer(ForwardRunner model, TextTokenizer tokenizer)
{
    /// <summary>
    /// Plan (POP) and hooks for every forward pass. Under a plan that prunes prefill the context runs as the prompt
    /// (pruned prefill, its last token at decode depth unless the boundary is None) and the continuation is
    /// teacher-forced at decode depth: POP predicts every generated token with the full model.
    /// </summary>
    public ForwardOptions? Forward { get; init; }

    /// <summary>Forward passes run so far (each choice of each sample is one prefill).</summary>
    public int ForwardPasses { get; private set; }

    /// <summary>Samples scored so far with at least one request cut from the left to the model's context.</summary>
    public int TruncatedSamples { get; private set; }

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
    public double LogLikelihood(string context, string continuation) => LogLikelihood(context, continuation, out _);

    double LogLikelihood(string context, string continuation, out bool truncated)
    {
        truncated = false;
        var (ctx, cont) = EncodePair(context, continuation);
        if (cont.Length == 0) return 0;
        if (ctx.Length == 0) throw new ArgumentException($"the context '{context}' encodes to no tokens, so nothing predicts the continuation's first");
        int max = model.Config.ContextLength;
        if (cont.Length > max) throw new ArgumentException($"a continuation of {cont.Length} tokens is longer than the model's context of {max}");
        var input = ctx.Concat(cont).ToArray()[..^1];
        if (input.Length > max)
        {
            input = input[^max..];
            truncated = true;
        }
        int vocab = model.Config.VocabSize;
        // The continuation's tokens are the input's last ones (less the final token), whether or not it was cut;
        // what comes before them is the context the model reads.
        var read = input[..(input.Length - cont.Length + 1)];
        var logits = model.IngestAndScore(read, cont, 0, model.CreateDenseCache(input.Length), Forward);
        ForwardPasses++;
        double sum = 0;
        for (int i = 0; i < cont.Length; i++)
            sum += LogSoftmaxAt(logits.AsSpan(i * vocab, vocab), cont[i]);
        return sum;
    }

    public McqSampleResult Score(McqSample s)
    {
        bool any = false;
        var ll = s.Choices.Select((_, i) => s.Request(i)).Select(r =>
        {
            var v = LogLikelihood(r.Context, r.Continuation, out bool cut);
            any |= cut;
            return v;
        }).ToArray();
        if (any) TruncatedSamples++;
        int pred = ArgMax(ll);
        int predNorm = ArgMax(ll.Select((v, i) => v / s.NormLength(i)).ToArray());
        return new McqSampleResult(s.Id, s.Gold, ll, pred, predNorm);
    }

    /// <summary>The one line the commands print on stderr when prompts were cut to the context; null when none were.</summary>
    public static string? TruncationNote(int truncated, int samples, int contextLength) => truncated == 0 ? null
        : $"sieve: {truncated} of {samples} samples are longer than the model's context of {contextLength} tokens; they were cut from the left, as lm-evaluation-harness cuts them";

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
