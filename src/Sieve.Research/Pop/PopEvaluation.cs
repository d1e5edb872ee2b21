using Sieve.Eval;
using Sieve.Eval.Tasks;
using Sieve.Models;
using Sieve.Models.Pop;
using Sieve.Tokenization;

namespace Sieve.Pop;

/// <summary>
/// One configuration measured against the dense model: the variant ("dense", "pop", "pop-none", "shortgpt", "plan"),
/// the layers it drops, and what <see cref="PopEvaluation.Measure"/> found.
/// </summary>
public sealed record PopEvalCase(string Variant, IReadOnlyList<int> Layers, string Source, ForwardOptions? Options)
{
    public int Skipped => Layers.Count;

    /// <summary>
    /// The three variants the issue compares for one set of layers: POP (KvOnly in prefill, the boundary row at
    /// decode depth), POP without the boundary (ShortGPT-gen: the whole prompt through the pruned prefill) and
    /// ShortGPT removal of the same layers in both stages (no K/V for them at all, decode also shallower).
    /// </summary>
    public static IEnumerable<PopEvalCase> Compare(PopPlan plan)
    {
        var layers = plan.SkippedLayers;
        yield return new("pop", layers, plan.Source, (plan with { Boundary = PromptBoundary.Full }).Apply());
        yield return new("pop-none", layers, plan.Source, (plan with { Boundary = PromptBoundary.None }).Apply());
        yield return new("shortgpt", layers, plan.Source, ForwardOptions.WithPlan(LayerPlan.Removing(plan.LayerCount, layers)));
    }
}

/// <summary>What one <see cref="PopEvalCase"/> scored.</summary>
/// <param name="Perplexity">exp of the mean next-token NLL of the text over the continuation rows (decode path).</param>
/// <param name="Kl">KL(dense ‖ variant) in nats, averaged over the continuation rows.</param>
/// <param name="GreedyAgreement">Share of the generated tokens equal to dense's at the same position (both free-running, greedy).</param>
/// <param name="FirstDivergence">Index of the first generated token that differs from dense's (GenTokens when none does).</param>
/// <param name="TeacherForcedAgreement">Share of dense's greedy tokens that are also the variant's argmax when the variant reads dense's tokens (prompt ingested under the plan, the tokens teacher-forced at decode depth): agreement without the drift of free-running.</param>
/// <param name="Acc">Multiple-choice accuracy on the task (null without a task).</param>
public sealed record PopEvalResult(PopEvalCase Case, double Perplexity, double Kl, double KlMax, double GreedyAgreement, int FirstDivergence, double TeacherForcedAgreement,
    double? Acc, double? AccNorm, double Seconds);

/// <summary>
/// Measures POP plans through the decode path, the way they are used: each window's first PromptLength tokens are
/// ingested as a prompt under the plan (<see cref="ForwardRunner.IngestAndScore"/>), its DecodeLength continuation
/// tokens teacher-forced at decode depth; perplexity is the text's, KL is against the dense model's rows at the same
/// positions. Greedy agreement generates GenTokens tokens after the first window's prompt, dense and variant each
/// feeding back their own tokens. Accuracy uses <see cref="McqScorer"/> with the variant's options (context as the
/// prompt, continuation at decode depth). The dense reference is computed once.
/// </summary>
public sealed class PopEvaluation
{
    readonly ForwardRunner _runner;
    readonly TextTokenizer _tokenizer;
    readonly ImportanceWindows _windows;
    readonly IReadOnlyList<McqSample>? _task;
    readonly int[] _genPrompt;
    readonly double[][] _denseLogProbs;   // per window, continuation rows × vocab
    readonly int[] _denseTokens;

    public int GenTokens { get; }
    public long ForwardCalls { get; private set; }

    public PopEvaluation(ForwardRunner runner, TextTokenizer tokenizer, ImportanceWindows windows, int genTokens, IReadOnlyList<McqSample>? task)
    {
        if (genTokens < 1) throw new ArgumentException($"--gen-tokens {genTokens}: must be 1 or more");
        if (windows.PromptLength + genTokens > runner.Config.ContextLength)
            throw new ArgumentException($"--prompt-len {windows.PromptLength} + --gen-tokens {genTokens} do not fit the model's context of {runner.Config.ContextLength}");
        _runner = runner; _tokenizer = tokenizer; _windows = windows; _task = task; GenTokens = genTokens;
        _genPrompt = windows.Windows[0][..windows.PromptLength];
        _denseLogProbs = windows.Windows.Select(w => LogSoftmaxRows(Score(w, null))).ToArray();
        _denseTokens = Generate(null);
    }

    public PopEvalResult Dense() => Measure(new PopEvalCase("dense", [], "the model as it is", null));

    public PopEvalResult Measure(PopEvalCase c)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int vocab = _runner.Config.VocabSize, P = _windows.PromptLength;
        double nll = 0, kl = 0, klMax = 0;
        long rows = 0;
        for (int w = 0; w < _windows.Windows.Count; w++)
        {
            var window = _windows.Windows[w];
            var logp = LogSoftmaxRows(Score(window, c.Options));
            var dense = _denseLogProbs[w];
            for (int i = 0; i < _windows.DecodeLength; i++)
            {
                int o = i * vocab;
                nll -= logp[o + window[P + i]];
                double k = 0;
                for (int v = 0; v < vocab; v++)
                {
                    double d = dense[o + v];
                    k += Math.Exp(d) * (d - logp[o + v]);
                }
                k = Math.Max(0, k);   // rounding can leave −1e-17 where the rows are equal
                kl += k; klMax = Math.Max(klMax, k);
                rows++;
            }
        }
        var tokens = Generate(c.Options);
        int same = 0, first = GenTokens;
        for (int i = 0; i < GenTokens; i++)
            if (tokens[i] == _denseTokens[i]) same++;
            else if (first == GenTokens) first = i;
        var forced = _runner.IngestAndScore(_genPrompt, _denseTokens, 0, _runner.CreateDenseCache(_genPrompt.Length + GenTokens), c.Options);
        ForwardCalls++;
        int agree = 0;
        for (int i = 0; i < GenTokens; i++)
            if (ArgMax(forced.AsSpan(i * vocab, vocab)) == _denseTokens[i]) agree++;
        double? acc = null, accNorm = null;
        if (_task is { Count: > 0 })
        {
            var scorer = new McqScorer(_runner, _tokenizer) { Forward = c.Options };
            var r = McqEvaluation.Run(scorer, _task, "", "");
            ForwardCalls += scorer.ForwardPasses;
            (acc, accNorm) = (r.Acc, r.AccNorm);
        }
        return new PopEvalResult(c, Math.Exp(nll / rows), kl / rows, klMax, (double)same / GenTokens, first, (double)agree / GenTokens, acc, accNorm, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The continuation rows' logits of one window under <paramref name="options"/>.</summary>
    float[] Score(int[] window, ForwardOptions? options)
    {
        int P = _windows.PromptLength;
        ForwardCalls++;
        return _runner.IngestAndScore(window.AsSpan(0, P), window.AsSpan(P), 0, _runner.CreateDenseCache(window.Length), options);
    }

    /// <summary>GenTokens greedy tokens after the generation prompt, ingested under the plan, each fed back at decode depth.</summary>
    int[] Generate(ForwardOptions? options)
    {
        var cache = _runner.CreateDenseCache(_genPrompt.Length + GenTokens);
        var tokens = new int[GenTokens];
        var logits = _runner.Ingest(_genPrompt, 0, cache, options);
        for (int i = 0; ; i++)
        {
            tokens[i] = ArgMax(logits);
            if (i + 1 == GenTokens) break;
            logits = _runner.Decode(tokens[i], _genPrompt.Length + i, cache, options);
        }
        ForwardCalls += GenTokens;
        return tokens;
    }

    static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++)
            if (v[i] > v[best]) best = i;
        return best;
    }

    double[] LogSoftmaxRows(float[] logits)
    {
        int vocab = _runner.Config.VocabSize;
        var result = new double[logits.Length];
        for (int o = 0; o < logits.Length; o += vocab)
        {
            var row = logits.AsSpan(o, vocab);
            double max = double.NegativeInfinity;
            foreach (float x in row) max = Math.Max(max, x);
            double sum = 0;
            foreach (float x in row) sum += Math.Exp(x - max);
            double log = max + Math.Log(sum);
            for (int v = 0; v < vocab; v++) result[o + v] = row[v] - log;
        }
        return result;
    }
}
