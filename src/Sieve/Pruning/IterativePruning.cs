using Sieve.Analysis;
using Sieve.Eval.Tasks;
using Sieve.Models;
using Sieve.Tokenization;

namespace Sieve.Pruning;

/// <summary>
/// Layer-removal strategies evaluated on a multiple-choice task through the decision probe (one forward pass per
/// sample; the last layer's read-out accuracy is the task's acc).
/// </summary>
/// <remarks>
/// Iterative Pruning follows SLEB's greedy loop (method notes §1.2): at each step try removing every remaining
/// layer except the first and last alive ones, keep the removal with the best score, repeat. The paper's criterion
/// is not public; the score here is task accuracy, ties broken by the mean final Decision Margin, then by the lower
/// layer index — fully deterministic.
/// </remarks>
public sealed class IterativePruning(Transformer model, TextTokenizer tokenizer, IReadOnlyList<McqSample> samples)
{
    readonly DecisionProbe _probe = new(model, tokenizer);
    public int ForwardPasses => _probe.ForwardPasses;

    /// <summary>The task read-out with <paramref name="removed"/> layers skipped in every stage.</summary>
    public (PruningStep Step, DecisionCurves Curves) Evaluate(IReadOnlyCollection<int> removed)
    {
        var saved = model.Plan;
        model.Plan = LayerPlan.Removing(model.Config.LayerCount, removed);
        try
        {
            var decisions = samples.Select(_probe.Probe).ToList();
            var curves = DecisionCurves.From(decisions, samples[0].OptionLabels ?? Enumerable.Range(1, samples[0].Choices.Count).Select(i => $"choice {i}").ToList());
            var step = new PruningStep(removed.Count, removed.OrderBy(l => l).ToList(), curves.Layers[^1].Accuracy, curves.Layers[^1].Margin,
                curves.TransitionStaysPositive ?? curves.TransitionHalfAccuracy);
            return (step, curves);
        }
        finally { model.Plan = saved; }
    }

    /// <summary>Greedy removal of <paramref name="steps"/> layers; element 0 is the dense model.</summary>
    public List<PruningStep> Greedy(int steps)
    {
        var removed = new List<int>();
        var trace = new List<PruningStep> { Evaluate(removed).Step };
        for (int s = 0; s < steps; s++)
        {
            var alive = Enumerable.Range(0, model.Config.LayerCount).Except(removed).ToList();
            var candidates = alive.Skip(1).SkipLast(1).ToList();   // SLEB's barriers: keep the first and last alive block
            if (candidates.Count == 0) break;
            PruningStep? best = null;
            int bestLayer = -1;
            foreach (int l in candidates)
            {
                var step = Evaluate([.. removed, l]).Step;
                if (best == null || step.Accuracy > best.Accuracy || (step.Accuracy == best.Accuracy && step.FinalMargin > best.FinalMargin))
                {
                    best = step;
                    bestLayer = l;
                }
            }
            removed.Add(bestLayer);
            trace.Add(best!);
        }
        return trace;
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
}
