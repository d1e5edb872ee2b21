using Sieve.Analysis;
using Sieve.Eval;
using Sieve.Eval.Tasks;
using Sieve.Models;
using Sieve.Tokenization;

namespace Sieve.Pruning;

/// <summary>
/// Layer-removal strategies evaluated on a multiple-choice task through the decision probe (one forward pass per
/// sample; the last layer's read-out accuracy is the task's acc), optionally with the calibration NLL beside it.
/// </summary>
/// <remarks>
/// Iterative Pruning follows SLEB's greedy loop (method notes §1.2): at each step try removing every remaining
/// layer except the first and last alive ones, keep the removal with the best <see cref="PruningCriterion"/>,
/// repeat. Ties go to the lower layer index, so a run is fully deterministic.
/// </remarks>
public sealed class IterativePruning(ForwardRunner model, TextTokenizer tokenizer, IReadOnlyList<McqSample> samples, CalibrationSet? calibration = null)
{
    readonly DecisionProbe _probe = new(model, tokenizer);
    int _nllPasses, _replayPasses;

    /// <summary>
    /// Score the greedy search's candidates from stored prefix states (method notes §1.2): removing block l leaves every
    /// block before it unchanged, so each trial resumes from the residual stream entering l and runs only the blocks
    /// after it — about half the work of full passes, with bit-identical results. Task criteria only; NLL runs in full.
    /// </summary>
    public bool ReusePrefixStates { get; init; } = true;

    /// <summary>Forward passes run so far: probe passes plus calibration windows.</summary>
    public int ForwardPasses => _probe.ForwardPasses + _nllPasses + _replayPasses;

    /// <summary>Samples whose prompt the probe cut from the left to the model's context.</summary>
    public int TruncatedSamples => _probe.TruncatedSamples;

    IReadOnlyList<string> Labels => samples[0].OptionLabels ?? Enumerable.Range(1, samples[0].Choices.Count).Select(i => $"choice {i}").ToList();

    /// <summary>The task read-out (and calibration NLL) with <paramref name="removed"/> layers skipped in every stage.</summary>
    public (PruningStep Step, DecisionCurves Curves) Evaluate(IReadOnlyCollection<int> removed)
    {
        var plan = Removing(removed);
        var curves = DecisionCurves.From(samples.Select(s => _probe.Probe(s, plan)).ToList(), Labels);
        double? nll = calibration != null ? MeanNll(plan) : null;
        var step = new PruningStep(removed.Count, removed.OrderBy(l => l).ToList(), curves.Layers[^1].Accuracy, curves.Layers[^1].Margin,
            curves.TransitionStaysPositive ?? curves.TransitionHalfAccuracy, nll);
        return (step, curves);
    }

    LayerPlan Removing(IReadOnlyCollection<int> removed) => LayerPlan.Removing(model.Config.LayerCount, removed);

    /// <summary>Mean negative log-likelihood per predicted token over the calibration windows, under <paramref name="plan"/>.</summary>
    double MeanNll(LayerPlan plan)
    {
        var options = ForwardOptions.WithPlan(plan);
        double sum = 0;
        long tokens = 0;
        int vocab = model.Config.VocabSize;
        foreach (var w in calibration!.Windows)
        {
            var logits = model.PrefillAllLogits(w, 0, model.CreateDenseCache(w.Length), options);
            _nllPasses++;
            for (int i = 0; i + 1 < w.Length; i++) sum -= McqScorer.LogSoftmaxAt(logits.Slice(i * vocab, vocab), w[i + 1]);
            tokens += w.Length - 1;
        }
        return sum / tokens;
    }

    /// <summary>A candidate's score, higher is better, compared lexicographically.</summary>
    (double, double) Score(IReadOnlyCollection<int> removed, PruningCriterion criterion)
    {
        if (criterion == PruningCriterion.Nll)
        {
            if (calibration == null) throw new InvalidOperationException("the NLL criterion needs a calibration set");
            return (-MeanNll(Removing(removed)), 0);
        }
        var step = Evaluate(removed).Step;
        return criterion == PruningCriterion.Accuracy ? (step.Accuracy, step.FinalMargin) : (step.FinalMargin, step.Accuracy);
    }

    /// <summary>Greedy removal of <paramref name="steps"/> layers; element 0 is the dense model.</summary>
    public List<PruningStep> Greedy(int steps, PruningCriterion criterion = PruningCriterion.Accuracy)
    {
        var removed = new List<int>();
        var trace = new List<PruningStep> { Evaluate(removed).Step };
        for (int s = 0; s < steps; s++)
        {
            var alive = Enumerable.Range(0, model.Config.LayerCount).Except(removed).ToList();
            var candidates = alive.Skip(1).SkipLast(1).ToList();   // SLEB's barriers: keep the first and last alive block
            if (candidates.Count == 0) break;
            (double, double) best = default;
            int bestLayer = -1;
            var scores = ReusePrefixStates && criterion != PruningCriterion.Nll
                ? ScoreFromPrefixStates(removed, candidates, criterion)
                : candidates.Select(l => Score([.. removed, l], criterion)).ToList();
            for (int i = 0; i < candidates.Count; i++)   // ascending, and only a strictly better score replaces: ties keep the lower layer
                if (bestLayer < 0 || scores[i].CompareTo(best) > 0) { best = scores[i]; bestLayer = candidates[i]; }
            removed.Add(bestLayer);
            trace.Add(Evaluate(removed).Step);
        }
        return trace;
    }

    /// <summary>
    /// Every candidate's (accuracy, margin) with <paramref name="removed"/> already gone: per sample, walk the blocks in
    /// order carrying the residual stream; at a candidate, resume past it to read the final decision; at any alive
    /// block, advance the stream through that block alone.
    /// </summary>
    List<(double, double)> ScoreFromPrefixStates(IReadOnlyList<int> removed, IReadOnlyList<int> candidates, PruningCriterion criterion)
    {
        int layers = model.Config.LayerCount, dim = model.Config.Dim;
        var alive = Enumerable.Range(0, layers).Except(removed).ToList();
        var finalLogits = candidates.Select(_ => new List<SampleDecisions>()).ToList();
        var replay = new StateReplay(dim);
        foreach (var sample in samples)
        {
            var (prompt, options) = _probe.Prepare(sample);
            var state = new float[prompt.Length * dim];
            for (int j = 0; j < prompt.Length; j++)
                Kernels.Dequantize.Row(model.Weights.TokenEmbedding.Type, model.Weights.TokenEmbedding.Row(prompt[j]), state.AsSpan(j * dim, dim));
            foreach (int l in alive)
            {
                int c = IndexOf(candidates, l);
                if (c >= 0)
                {
                    // Without block l: resume at the next alive block, read the stream leaving the last one.
                    var runs = alive.Where(x => x > l).ToList();
                    Run(prompt, state, runs, runs[0], runs[^1], lastOnly: true);
                    finalLogits[c].Add(new SampleDecisions(sample.Id, sample.Gold, [_probe.ReadOut(replay.Captured, options)]));
                }
                if (l == alive[^1]) break;
                Run(prompt, state, [l], l, l, lastOnly: false);
                state = replay.Captured;
            }
        }
        return finalLogits.Select(d =>
        {
            var last = DecisionCurves.From(d, Labels).Layers[^1];
            return criterion == PruningCriterion.Accuracy ? (last.Accuracy, last.Margin) : (last.Margin, last.Accuracy);
        }).ToList();

        void Run(int[] prompt, float[] state, IReadOnlyList<int> runs, int inject, int capture, bool lastOnly)
        {
            var modes = Enumerable.Repeat(LayerMode.Skip, layers).ToArray();
            foreach (int r in runs) modes[r] = LayerMode.Full;
            var options = new ForwardOptions { Plan = new LayerPlan(modes, (LayerMode[])modes.Clone()), Hooks = [replay] };
            replay.CaptureLayer = capture;
            replay.CaptureLastOnly = lastOnly;
            replay.Positions = prompt.Length;
            replay.Captured = new float[lastOnly ? dim : prompt.Length * dim];
            model.ResumeFromLayer(inject, state, 0, model.CreateDenseCache(prompt.Length), ForwardStage.Prefill, ForwardRunner.LogitRows.None, options);
            _replayPasses++;
        }

        static int IndexOf(IReadOnlyList<int> list, int value)
        {
            for (int i = 0; i < list.Count; i++) if (list[i] == value) return i;
            return -1;
        }
    }

    /// <summary>Removes layers in a fixed order (e.g. ascending Block Influence, or the last k), recording each step.</summary>
    public List<PruningStep> InOrder(IEnumerable<int> order, int steps)
    {
        var removed = new List<int>();
        var trace = new List<PruningStep> { Evaluate(removed).Step };
        foreach (int l in order.Take(steps))
        {
            removed.Add(l);
            trace.Add(Evaluate(removed).Step);
        }
        return trace;
    }

    /// <summary>
    /// Importance-order removal made iterative: after each removal the importance (e.g. Block Influence) is measured
    /// again on the pruned model and the least important remaining layer goes next.
    /// </summary>
    /// <param name="importance">Per-layer importance measured under the plan it is given (the layers removed so far).</param>
    public List<PruningStep> ByRecomputedImportance(Func<LayerPlan, double[]> importance, int steps)
    {
        var removed = new List<int>();
        var trace = new List<PruningStep> { Evaluate(removed).Step };
        for (int s = 0; s < steps; s++)
        {
            var score = importance(Removing(removed));
            var next = Enumerable.Range(0, model.Config.LayerCount).Except(removed).Where(l => !double.IsNaN(score[l]))
                .OrderBy(l => score[l]).ThenBy(l => l).Cast<int?>().FirstOrDefault();
            if (next is not int l) break;
            removed.Add(l);
            trace.Add(Evaluate(removed).Step);
        }
        return trace;
    }

    /// <summary>A curve of independent removals: step k removes exactly <c>sets(k)</c> (Gromov's block choice per size).</summary>
    public List<PruningStep> BySets(Func<int, IReadOnlyList<int>> sets, int steps)
    {
        var trace = new List<PruningStep> { Evaluate([]).Step };
        for (int k = 1; k <= steps; k++) trace.Add(Evaluate(sets(k).ToList()).Step);
        return trace;
    }
}
