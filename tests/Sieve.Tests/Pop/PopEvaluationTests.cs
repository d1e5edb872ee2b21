using Sieve.Eval.Tasks;
using Sieve.Models;
using Sieve.Models.Pop;
using Sieve.Pop;
using Sieve.Tests.Cli;

namespace Sieve.Tests.Pop;

/// <summary><c>sieve pop eval</c> on stories260K: the acceptance line, and the command end to end.</summary>
public class PopEvaluationTests
{
    static string Model => Path.GetRelativePath(Fixtures.RepoRoot, Fixtures.Stories260KGguf);
    static string Task => Path.Combine(Fixtures.Models, "stories260K", "tasks", "story-questions.jsonl");

    static PopEvaluation Evaluation(SieveModel m, IReadOnlyList<McqSample>? task = null) => new(m.CreateRunner(), m.Tokenizer,
        ImportanceWindows.FromText(m.Tokenizer, PopFixtures.OracleText(), "oracles", 32, 8, 3, m.Config.ContextLength), 24, task);

    [Fact]
    public void PopBeatsShortGptRemovalOfTheSameLayersOnKl()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var eval = Evaluation(m);
        var dense = eval.Dense();
        Assert.Equal((0.0, 1.0, 24, 1.0), (dense.Kl, dense.GreedyAgreement, dense.FirstDivergence, dense.TeacherForcedAgreement));
        for (int s = 1; s <= 3; s++)
        {
            var rows = PopEvalCase.Compare(PopPlan.LastLayers(m.Config.LayerCount, s)).Select(eval.Measure).ToDictionary(r => r.Case.Variant);
            Assert.Equal(Enumerable.Range(5 - s, s), rows["pop"].Case.Layers);
            Assert.Equal(rows["pop"].Case.Layers, rows["shortgpt"].Case.Layers);
            double pop = rows["pop"].Kl, none = rows["pop-none"].Kl, removal = rows["shortgpt"].Kl;
            // The acceptance line, with room: on the 10-window run removal's KL is 14–90× POP's (0.82 vs 0, 2.5 vs 0.024, 5.5 vs 0.062).
            Assert.True(pop < removal / 4, $"s={s}: POP KL {pop} vs ShortGPT removal {removal}");
            Assert.True(pop < none, $"s={s}: POP KL {pop} vs POP without boundary {none}");
            Assert.True(rows["pop"].Perplexity < rows["shortgpt"].Perplexity);
            Assert.True(removal > 0.1 && double.IsFinite(removal), $"s={s}: removal KL {removal} should be far from dense");
        }
    }

    [Fact]
    public void SkippingTheLastLayerWithTheBoundaryIsExactlyDense()
    {
        // The last layer's prefill output feeds only logits no prefill row needs, so KvOnly there changes nothing.
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var eval = Evaluation(m);
        var dense = eval.Dense();
        var pop = eval.Measure(PopEvalCase.Compare(PopPlan.LastLayers(5, 1)).First());
        Assert.Equal(("pop", 0.0, 1.0, 24), (pop.Case.Variant, pop.Kl, pop.GreedyAgreement, pop.FirstDivergence));
        Assert.Equal(dense.Perplexity, pop.Perplexity);
    }

    [Fact]
    public void TheCommandWritesTheTableAndTheJson()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var text = Path.Combine(dir, "oracle.txt");
            File.WriteAllText(text, PopFixtures.OracleText());
            var output = Path.Combine(dir, "eval.json");
            var r = CliRunner.Run(["pop", "eval", "-m", Model, "-f", text, "--task", Task, "--layers", "1-2", "--prompt-len", "32", "--decode-len", "8",
                "--windows", "2", "--gen-tokens", "16", "-o", output, "-t", "1"]);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Contains("shortgpt", r.Stdout);
            var report = PopEvalReport.Load(output);
            Assert.Equal(("stories260K.gguf", 5, 12, 16), (report.Model, report.ModelLayers, report.TaskSamples, report.Settings.GenTokens));
            Assert.Equal(["dense", "pop", "pop-none", "shortgpt", "pop", "pop-none", "shortgpt"], report.Rows.Select(x => x.Variant));
            Assert.Equal([0, 1, 1, 1, 2, 2, 2], report.Rows.Select(x => x.Skipped));
            Assert.All(report.Rows, x => Assert.True(x.Acc is >= 0 and <= 1 && double.IsFinite(x.Perplexity)));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData(new[] { "--layers", "5" }, "--layers '5'")]
    [InlineData(new[] { "--layers", "0-2" }, "0 skipped layers is the dense row")]
    [InlineData(new[] { "--gen-tokens", "0" }, "--gen-tokens 0: must be a whole number, 1 or more")]
    [InlineData(new[] { "--pop-plan", "nowhere.json" }, "nowhere.json: file not found")]
    public void BadInputEndsWithOneLineAndExitCodeOne(string[] extra, string message)
    {
        var dir = Fixtures.TempDir();
        try
        {
            var text = Path.Combine(dir, "oracle.txt");
            File.WriteAllText(text, PopFixtures.OracleText());
            var r = CliRunner.Run(["pop", "eval", "-m", Model, "-f", text, "--prompt-len", "32", "--decode-len", "8", "-o", Path.Combine(dir, "e.json"), .. extra]);
            Assert.Equal(1, r.ExitCode);
            var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length == 1, r.Stderr);
            Assert.Contains(message, lines[0]);
        }
        finally { Directory.Delete(dir, true); }
    }
}
