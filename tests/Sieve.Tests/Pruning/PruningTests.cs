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
        var a = new IterativePruning(m.Transformer, m.Tokenizer, samples).Greedy(2);
        var b = new IterativePruning(m.Transformer, m.Tokenizer, samples).Greedy(2);
        Assert.Equal(a.Select(s => string.Join(",", s.RemovedLayers)), b.Select(s => string.Join(",", s.RemovedLayers)));
        Assert.Equal(a.Select(s => s.Accuracy), b.Select(s => s.Accuracy));

        // Exhaustive: remove each candidate layer once (not the first or last), keep the best by accuracy, then margin.
        var eval = new IterativePruning(m.Transformer, m.Tokenizer, samples);
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
            m.Transformer.Plan = LayerPlan.Removing(m.Config.LayerCount, [1, 3]);
            var skipped = m.Transformer.Prefill(prompt, 0, m.Transformer.CreateDenseCache(8)).ToArray();
            using var p = SieveModel.Load(path);
            Assert.Equal(3, p.Config.LayerCount);
            var written = p.Transformer.Prefill(prompt, 0, p.Transformer.CreateDenseCache(8)).ToArray();
            Assert.Equal(skipped, written);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void BlockInfluenceIsOneMinusCosineBetweenBlockInputAndOutput()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var bi = BlockInfluence.Measure(m.Transformer, [[1, 403, 407, 261, 378, 432, 383]]);
        Assert.Equal(m.Config.LayerCount, bi.Length);
        Assert.All(bi, v => Assert.InRange(v, 0.0, 2.0));
        Assert.Contains(bi, v => v > 1e-3);
    }
}
