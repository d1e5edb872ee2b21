using Sieve.Analysis;
using Sieve.Eval;
using Sieve.Eval.Tasks;
using Sieve.Models;
using Sieve.Tests.Models;

namespace Sieve.Tests.Eval;

public class McqTests
{
    // tok512 spells " A" as "▁" + "A" but " B" as one token; these four labels are each one token ("▁B", "▁H",
    // "▁M", "▁S"), as letters are in real LLM vocabularies, so the last-layer read-out must equal acc exactly.
    static readonly string[] Labels = ["B", "H", "M", "S"];

    static McqSample Lettered3(string id, string question, string[] options, int gold) =>
        new(id, question + "\n" + string.Concat(options.Select((o, i) => $"{Labels[i]}. {o}\n")) + "Answer:", Labels, gold, Labels);

    static readonly McqSample[] Lettered =
    [
        Lettered3("1", "Lily had a red ball. What color was the ball?", ["red", "blue", "green", "big"], 0),
        Lettered3("2", "Tom went to the park to play. Where did Tom go?", ["school", "park", "home", "shop"], 1),
        Lettered3("3", "The cat was very happy. How did the cat feel?", ["sad", "angry", "happy", "tired"], 2),
        Lettered3("4", "Mom baked a cake for Sue. Who baked the cake?", ["Sue", "Dad", "Tom", "Mom"], 3),
    ];

    static readonly McqSample Cloze = new("c", "Once upon a time, there was a little girl named", ["Lily.", "the big red ball that jumped"], 0);

    static double SoftmaxLogProb(double[] logits, int index)
    {
        double max = logits.Max(), sum = logits.Sum(v => Math.Exp(v - max));
        return logits[index] - max - Math.Log(sum);
    }

    [Fact]
    public void LogLikelihoodsAccAndAccNormMatchAnIndependentComputation()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var scorer = new McqScorer(m.Runner(), m.Tokenizer);
        var result = scorer.Score(Cloze);
        int vocab = m.Config.VocabSize;
        var expected = new double[Cloze.Choices.Count];
        for (int i = 0; i < Cloze.Choices.Count; i++)
        {
            // Harness encoding by hand: continuation = tok(ctx + " " + choice)[len(tok(ctx)):].
            var ctx = m.Tokenizer.Encode(Cloze.Context);
            var whole = m.Tokenizer.Encode(Cloze.Context + " " + Cloze.Choices[i]);
            var cont = whole[ctx.Length..];
            var input = ctx.Concat(cont).ToArray()[..^1];
            var logits = NaiveReferenceTests.Naive(m.Config, m.Checkpoint.Weights, input);
            for (int t = 0; t < cont.Length; t++)
                expected[i] += SoftmaxLogProb(logits[((ctx.Length - 1 + t) * vocab)..((ctx.Length + t) * vocab)], cont[t]);
        }
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], result.LogLikelihoods[i], 3);
        int acc = expected[0] >= expected[1] ? 0 : 1;
        int accNorm = expected[0] / Cloze.Choices[0].Length >= expected[1] / Cloze.Choices[1].Length ? 0 : 1;
        Assert.Equal(acc, result.Predicted);
        Assert.Equal(accNorm, result.PredictedNorm);
    }

    [Fact]
    public void WinograndeScoresOneContinuationUnderEachFilledContext()
    {
        // The harness's partial scoring: context_i = sentence[:blank] + option_i, continuation = " " + rest.strip().
        var sample = McqTask.FromJsonLines("wg.jsonl",
            ["""{"sentence":"Lily gave the ball to Tom because _ was sad.","option1":"Lily","option2":"Tom","answer":"2"}"""], "auto").Single();
        Assert.True(sample.IsMultipleInput);
        Assert.Equal(1, sample.Gold);
        Assert.Equal(("Lily gave the ball to Tom because Lily", " was sad."), sample.Request(0));
        Assert.Equal(("Lily gave the ball to Tom because Tom", " was sad."), sample.Request(1));

        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var result = new McqScorer(m.Runner(), m.Tokenizer).Score(sample);
        int vocab = m.Config.VocabSize;
        for (int i = 0; i < 2; i++)
        {
            var (context, continuation) = sample.Request(i);
            var ctx = m.Tokenizer.Encode(context);
            var cont = m.Tokenizer.Encode(context + continuation)[ctx.Length..];
            var logits = NaiveReferenceTests.Naive(m.Config, m.Checkpoint.Weights, ctx.Concat(cont).ToArray()[..^1]);
            double expected = 0;
            for (int t = 0; t < cont.Length; t++)
                expected += SoftmaxLogProb(logits[((ctx.Length - 1 + t) * vocab)..((ctx.Length + t) * vocab)], cont[t]);
            Assert.Equal(expected, result.LogLikelihoods[i], 3);
        }
        Assert.Equal(result.LogLikelihoods[1] > result.LogLikelihoods[0] ? 1 : 0, result.Predicted);

        // k-shot: a solved shot is its gold-filled sentence; every context starts with it.
        var shot = McqTask.WithShots(sample, [sample]);
        Assert.Equal("Lily gave the ball to Tom because Tom was sad.\n\nLily gave the ball to Tom because Lily", shot.Request(0).Context);
    }

    [Fact]
    public void LetteredRenderingTurnsAnyLayoutIntoMmluStyleOptions()
    {
        var wg = McqTask.FromJsonLines("wg.jsonl",
            ["""{"sentence":"Lily gave the ball to Tom because _ was sad.","option1":"Lily","option2":"Tom","answer":"2"}"""], "auto", McqRendering.Lettered).Single();
        Assert.Equal("Lily gave the ball to Tom because _ was sad.\nA. Lily\nB. Tom\nAnswer:", wg.Context);
        Assert.Equal(["A", "B"], wg.Choices);
        Assert.Equal(["A", "B"], wg.OptionLabels);
        Assert.False(wg.IsMultipleInput);
        var arc = McqTask.FromJsonLines("arc.jsonl",
            ["""{"question":"Sky?","choices":{"text":["blue","green"],"label":["A","B"]},"answerKey":"B"}"""], "auto", McqRendering.Lettered).Single();
        Assert.Equal("Sky?\nA. blue\nB. green\nAnswer:", arc.Context);
        Assert.Equal(1, arc.Gold);
        var piqa = McqTask.FromJsonLines("piqa.jsonl", ["""{"goal":"Open a jar","sol1":"twist","sol2":"kick","label":0}"""], "auto", McqRendering.Lettered).Single();
        Assert.Equal("Open a jar\nA. twist\nB. kick\nAnswer:", piqa.Context);
        Assert.Throws<Sieve.Formats.ModelFileException>(() => McqTask.FromJsonLines("wg.jsonl",
            ["""{"sentence":"no blank here","option1":"a","option2":"b","answer":"1"}"""], "auto"));
        Assert.Throws<Sieve.Formats.ModelFileException>(() => McqTask.FromJsonLines("wg.jsonl",
            ["""{"sentence":"a _ b","option1":"a","option2":"b","answer":""}"""], "auto"));
    }

    [Fact]
    public void TrailingContextSpaceMovesToTheContinuation()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var scorer = new McqScorer(m.Runner(), m.Tokenizer);
        var (c1, t1) = scorer.EncodePair("Once upon a", " time");
        var (c2, t2) = scorer.EncodePair("Once upon a ", "time");
        Assert.Equal(c1, c2);
        Assert.Equal(t1, t2);
    }

    [Fact]
    public void ProbeCostsOneForwardPassPerSampleAndItsLastLayerIsEvalAcc()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var probe = new DecisionProbe(m.Runner(), m.Tokenizer);
        var decisions = Lettered.Select(s => probe.Probe(s)).ToList();
        Assert.Equal(Lettered.Length, probe.ForwardPasses);
        Assert.All(decisions, d => Assert.Equal(m.Config.LayerCount + 1, d.OptionLogits.Length));

        var scorer = new McqScorer(m.Runner(), m.Tokenizer);
        var eval = McqEvaluation.Run(scorer, Lettered, "stories260K", "test");
        for (int i = 0; i < Lettered.Length; i++)
        {
            var last = decisions[i].OptionLogits[^1];
            int arg = Enumerable.Range(0, 4).Aggregate((a, b) => last[b] > last[a] ? b : a);
            Assert.Equal(eval.Results[i].Predicted, arg);
        }
        var curves = DecisionCurves.From(decisions, Labels);
        Assert.Equal(eval.Acc, curves.Layers[^1].Accuracy);

        // Margins, recomputed here from the read-out logits with scalar code.
        for (int l = 0; l <= m.Config.LayerCount; l++)
        {
            double margin = 0;
            foreach (var d in decisions)
            {
                var z = d.OptionLogits[l].Select(v => (double)v).ToArray();
                var p = z.Select(v => Math.Exp(v - z.Max())).ToArray();
                var s = p.Sum();
                margin += p[d.Gold] / s - Enumerable.Range(0, 4).Where(o => o != d.Gold).Max(o => p[o] / s);
            }
            Assert.Equal(margin / decisions.Count, curves.Layers[l].Margin, 9);
            Assert.Equal(1.0, curves.Layers[l].OptionFrequency.Values.Sum(), 9);
        }
    }

    [Fact]
    public void LoadsHarnessLayoutsFromJsonl()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var path = Path.Combine(dir, "t.jsonl");
            File.WriteAllLines(path,
            [
                """{"question":"2+2?","subject":"high_school_math","choices":["3","4","5","6"],"answer":1}""",
                """{"question":"Sky?","choices":{"text":["blue","green"],"label":["A","B"]},"answerKey":"A"}""",
            ]);
            Assert.Throws<Sieve.Formats.ModelFileException>(() => McqTask.Load(path));   // mixed layouts
            File.WriteAllLines(path, ["""{"question":"2+2?","subject":"high_school_math","choices":["3","4","5","6"],"answer":1}"""]);
            var s = McqTask.Load(path).Single();
            Assert.Equal("The following are multiple choice questions (with answers) about high school math.\n\n2+2?\nA. 3\nB. 4\nC. 5\nD. 6\nAnswer:", s.Context);
            Assert.Equal(1, s.Gold);
            File.WriteAllLines(path, ["""{"question":"Sky?","choices":{"text":["blue","green"],"label":["A","B"]},"answerKey":"B"}"""]);
            var arc = McqTask.Load(path).Single();
            Assert.Equal("Question: Sky?\nAnswer:", arc.Context);
            Assert.Equal(["blue", "green"], arc.Choices);
            Assert.Equal(1, arc.Gold);
            Assert.Equal("A man is sitting.. He plays.", McqTask.HellaSwagPreprocess(" A man [header] is sitting. [title]He plays."));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void FewShotPromptsFollowTheHarnessLayout()
    {
        var shot = new McqSample("s", "The following are multiple choice questions (with answers) about math.\n\n1+1?\nA. 2\nB. 3\nAnswer:", ["A", "B"], 0, ["A", "B"]);
        var test = new McqSample("t", "The following are multiple choice questions (with answers) about math.\n\n2+2?\nA. 5\nB. 4\nAnswer:", ["A", "B"], 1, ["A", "B"]);
        var k = McqTask.WithShots(test, [shot]);
        Assert.Equal("The following are multiple choice questions (with answers) about math.\n\n1+1?\nA. 2\nB. 3\nAnswer: A\n\n2+2?\nA. 5\nB. 4\nAnswer:", k.Context);
        var arc = new McqSample("a", "Question: Sky?\nAnswer:", ["blue", "green"], 0);
        Assert.Equal("Question: Sky?\nAnswer: blue\n\nQuestion: Sky?\nAnswer:", McqTask.WithShots(arc, [arc]).Context);
    }

    [Fact]
    public void ContinuationTasksAreProbedAtTheirFirstDistinguishingToken()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var probe = new DecisionProbe(m.Runner(), m.Tokenizer);
        var sample = new McqSample("c", "Once upon a time, there was a little", ["girl", "dog", "tree"], 0);
        var d = probe.Probe(sample);
        Assert.Equal(1, probe.ForwardPasses);
        var last = d.OptionLogits[^1];
        // The read-out at the last layer is the model's own next-token logits for those first tokens.
        var ctx = m.Tokenizer.Encode(sample.Context);
        var logits = m.Runner().Prefill(ctx, 0, m.Runner().CreateDenseCache(ctx.Length)).ToArray();
        for (int i = 0; i < 3; i++)
        {
            var first = m.Tokenizer.Encode(sample.Context + " " + sample.Choices[i])[ctx.Length];
            Assert.Equal(logits[first], last[i], 4);
        }
    }
}
