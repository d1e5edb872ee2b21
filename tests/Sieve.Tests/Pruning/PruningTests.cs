using Sieve.Analysis;
using Sieve.Eval.Tasks;
using Sieve.Models;
using Sieve.Pruning;

namespace Sieve.Tests.Pruning;

public class PruningTests
{
    static List<McqSample> Task() => McqTask.Load(Path.Combine(Fixtures.Models, "stories260K", "tasks", "story-questions.jsonl"));

    [Fact]
    public void IterativePruningIsDeterministicAndItsFirstStepIsTheExhaustiveBest()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var samples = Task();
        var a = new IterativePruning(m.Runner(), m.Tokenizer, samples).Greedy(2);
        var b = new IterativePruning(m.Runner(), m.Tokenizer, samples).Greedy(2);
        Assert.Equal(a.Select(s => string.Join(",", s.RemovedLayers)), b.Select(s => string.Join(",", s.RemovedLayers)));
        Assert.Equal(a.Select(s => s.Accuracy), b.Select(s => s.Accuracy));

        // Exhaustive: remove each candidate layer once (not the first or last), keep the best by accuracy, then margin.
        var eval = new IterativePruning(m.Runner(), m.Tokenizer, samples);
        var trials = Enumerable.Range(1, m.Config.LayerCount - 2).Select(l => (Layer: l, Step: eval.Evaluate([l]).Step)).ToList();
        var best = trials.OrderByDescending(t => t.Step.Accuracy).ThenByDescending(t => t.Step.FinalMargin).ThenBy(t => t.Layer).First();
        Assert.Equal([best.Layer], a[1].RemovedLayers);
        Assert.Equal(best.Step.Accuracy, a[1].Accuracy);
        Assert.Equal(3, a.Count);   // dense + two removals
    }

    [Fact]
    public void PrunedGgufGivesTheSameLogitsAsSkippingTheLayers()
    {
        var dir = Fixtures.TempDir();
        try
        {
            using var m = SieveModel.Load(Fixtures.Stories260KGguf);
            var path = Path.Combine(dir, "pruned.gguf");
            PrunedModelWriter.Write(m, [1, 3], path);
            int[] prompt = [1, 403, 407, 261, 378, 432];
            var skipped = m.Runner().Prefill(prompt, 0, m.Runner().CreateDenseCache(8), ForwardOptions.WithPlan(LayerPlan.Removing(m.Config.LayerCount, [1, 3]))).ToArray();
            using var p = SieveModel.Load(path);
            Assert.Equal(3, p.Config.LayerCount);
            var written = p.Runner().Prefill(prompt, 0, p.Runner().CreateDenseCache(8)).ToArray();
            Assert.Equal(skipped, written);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void BlockInfluenceIsOneMinusCosineBetweenBlockInputAndOutput()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var bi = BlockInfluence.Measure(m.Runner(), [[1, 403, 407, 261, 378, 432, 383]]);
        Assert.Equal(m.Config.LayerCount, bi.Length);
        Assert.All(bi, v => Assert.InRange(v, 0.0, 2.0));
        Assert.Contains(bi, v => v > 1e-3);
    }

    [Fact]
    public void NllCriterionPicksTheRemovalWithTheLowestCalibrationLossComputedIndependently()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var samples = Task();
        var calibration = CalibrationSet.FromTask(m.Tokenizer, samples, 512);
        Assert.Equal(samples.Count, calibration.Windows.Count);
        var trace = new IterativePruning(m.Runner(), m.Tokenizer, samples, calibration).Greedy(2, PruningCriterion.Nll);
        var again = new IterativePruning(m.Runner(), m.Tokenizer, samples, calibration).Greedy(2, PruningCriterion.Nll);
        Assert.Equal(trace.Select(s => string.Join(",", s.RemovedLayers)), again.Select(s => string.Join(",", s.RemovedLayers)));

        // Mean NLL per token by hand: every window, every next token, log-softmax in double precision.
        double Nll(int removed)
        {
            var options = ForwardOptions.WithPlan(LayerPlan.Removing(m.Config.LayerCount, [removed]));
            double sum = 0;
            long n = 0;
            int vocab = m.Config.VocabSize;
            foreach (var w in calibration.Windows)
            {
                var logits = m.Runner().PrefillAllLogits(w, 0, m.Runner().CreateDenseCache(w.Length), options).ToArray();
                for (int i = 0; i + 1 < w.Length; i++)
                {
                    var row = logits.AsSpan(i * vocab, vocab).ToArray().Select(v => (double)v).ToArray();
                    double max = row.Max();
                    sum -= row[w[i + 1]] - max - Math.Log(row.Sum(v => Math.Exp(v - max)));
                    n++;
                }
            }
            return sum / n;
        }
        var nll = Enumerable.Range(1, m.Config.LayerCount - 2).Select(l => (Layer: l, Nll: Nll(l))).ToList();
        var best = nll.OrderBy(t => t.Nll).ThenBy(t => t.Layer).First();
        Assert.Equal([best.Layer], trace[1].RemovedLayers);
        Assert.Equal(best.Nll, trace[1].Nll!.Value, 6);
        Assert.True(trace[1].Nll > trace[0].Nll, "removing a block of a trained model should raise its loss");
    }

    [Fact]
    public void CalibrationWindowsFromTextAreSeededAndSized()
    {
        var dir = Fixtures.TempDir();
        try
        {
            using var m = SieveModel.Load(Fixtures.Stories260KGguf);
            var path = Path.Combine(dir, "calib.txt");
            File.WriteAllText(path, string.Concat(Enumerable.Repeat("Once upon a time there was a little girl named Lily. She liked to play outside. ", 20)));
            var a = CalibrationSet.FromText(m.Tokenizer, path, 32, 4, seed: 7);
            var b = CalibrationSet.FromText(m.Tokenizer, path, 32, 4, seed: 7);
            Assert.Equal(4, a.Windows.Count);
            Assert.All(a.Windows, w => Assert.Equal(32, w.Length));
            Assert.Equal(a.Windows.SelectMany(w => w), b.Windows.SelectMany(w => w));
            var all = CalibrationSet.FromText(m.Tokenizer, path, 32, 1000);   // the text holds fewer: consecutive windows
            Assert.Equal(m.Tokenizer.Encode(File.ReadAllText(path)), all.Windows.SelectMany(w => w).ToArray());
            File.WriteAllText(path, "");
            Assert.Throws<Sieve.Formats.ModelFileException>(() => CalibrationSet.FromText(m.Tokenizer, path, 32, 4));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AngularDistanceReadsTheResidualStreamAndPicksTheClosestBlock()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        int[] prompt = [1, 403, 407, 261, 378, 432, 383];
        var ad = AngularDistance.Measure(m.Runner(), [prompt]);
        // The captured last state, through the final norm and LM head, is the model's own logits.
        var capture = new ResidualCapture(m.Config.LayerCount, m.Config.Dim, prompt.Length - 1);
        var logits = m.Runner().Prefill(prompt, 0, m.Runner().CreateDenseCache(prompt.Length), ForwardOptions.WithHooks(capture)).ToArray();
        var normed = new float[m.Config.Dim];
        Sieve.Kernels.RmsNorm.Apply(capture.States[^1], m.Checkpoint.Weights.OutputNorm, m.Config.NormEps, normed);
        var row = new float[m.Config.Dim];
        Sieve.Kernels.Dequantize.Row(m.Checkpoint.Weights.Output.Type, m.Checkpoint.Weights.Output.Row(403), row);
        Assert.Equal(logits[403], normed.Zip(row).Sum(p => p.First * p.Second), 2);

        for (int n = 1; n <= m.Config.LayerCount - 1; n++)
        {
            double Scalar(int s)
            {
                double dot = 0, a = 0, b = 0;
                for (int i = 0; i < m.Config.Dim; i++)
                {
                    dot += capture.States[s][i] * (double)capture.States[s + n][i];
                    a += capture.States[s][i] * (double)capture.States[s][i];
                    b += capture.States[s + n][i] * (double)capture.States[s + n][i];
                }
                return Math.Acos(dot / Math.Sqrt(a * b)) / Math.PI;
            }
            var starts = Enumerable.Range(0, m.Config.LayerCount - n);
            int best = starts.OrderBy(Scalar).ThenBy(s => s).First();
            Assert.Equal(Enumerable.Range(best, n), ad.BestBlock(n));
            Assert.DoesNotContain(m.Config.LayerCount - 1, ad.BestBlock(n));
        }
    }

    [Fact]
    public void RecomputedBlockInfluenceMeasuresThePrunedModel()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var samples = Task();
        var prompts = samples.Select(s => m.Tokenizer.Encode(s.Context)).ToList();
        var trace = new IterativePruning(m.Runner(), m.Tokenizer, samples).ByRecomputedImportance(plan => BlockInfluence.Measure(m.Runner(), prompts, plan), 2);
        var dense = BlockInfluence.Measure(m.Runner(), prompts);
        int first = Enumerable.Range(0, m.Config.LayerCount).OrderBy(l => dense[l]).First();
        Assert.Equal([first], trace[1].RemovedLayers);
        var pruned = BlockInfluence.Measure(m.Runner(), prompts, LayerPlan.Removing(m.Config.LayerCount, [first]));
        Assert.True(double.IsNaN(pruned[first]));
        int second = Enumerable.Range(0, m.Config.LayerCount).Where(l => l != first).OrderBy(l => pruned[l]).First();
        Assert.Equal(new[] { first, second }.Order(), trace[2].RemovedLayers);
    }

    [Theory]
    [InlineData(PruningCriterion.Accuracy)]
    [InlineData(PruningCriterion.Margin)]
    public void GreedyFromStoredPrefixStatesEqualsFullPassesExactly(PruningCriterion criterion)
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var samples = Task();
        var full = new IterativePruning(m.Runner(), m.Tokenizer, samples) { ReusePrefixStates = false };
        var reuse = new IterativePruning(m.Runner(), m.Tokenizer, samples) { ReusePrefixStates = true };
        var a = full.Greedy(3, criterion);
        var b = reuse.Greedy(3, criterion);
        Assert.Equal(a.Select(x => string.Join(",", x.RemovedLayers)), b.Select(x => string.Join(",", x.RemovedLayers)));
        Assert.Equal(a.Select(x => x.Accuracy), b.Select(x => x.Accuracy));
        Assert.Equal(a.Select(x => x.FinalMargin), b.Select(x => x.FinalMargin));
    }
}
