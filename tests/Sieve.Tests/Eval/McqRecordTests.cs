using Parquet.Serialization;
using Sieve.Eval;
using Sieve.Eval.Tasks;
using Sieve.Formats;
using Sieve.Models;
using Sieve.Tests.Models;

namespace Sieve.Tests.Eval;

/// <summary>Issue 8 item 7: malformed task records are refused naming the file, the record and the field; long
/// prompts are cut from the left as the harness does; the generic layout can be scored as cloze.</summary>
public class McqRecordTests
{
    const string GoodGeneric = """{"question":"Sky?","choices":["blue","green"],"answer":0}""";
    const string GoodArc = """{"question":"Sky?","choices":{"text":["blue","green"],"label":["A","B"]},"answerKey":"A"}""";

    public static TheoryData<string, string, string, string> Malformed => new()
    {
        // layout, the good first record, the bad second record, the field the error must name
        { "arc", GoodArc, """{"question":"Sky?","choices":{"text":[],"label":["A","B"]},"answerKey":"A"}""", "choices" },
        { "arc", GoodArc, """{"question":"Sky?","choices":{"text":[],"label":[]},"answerKey":"A"}""", "choices" },
        { "arc", GoodArc, """{"question":"Sky?","choices":{"text":["blue","green"],"label":["A","B","C"]},"answerKey":"C"}""", "choices" },
        { "arc", GoodArc, """{"question":"Sky?","choices":{"text":["blue","green"],"label":["A",null]},"answerKey":"B"}""", "choices.label" },
        { "arc", GoodArc, """{"question":"Sky?","choices":{"text":["blue",null],"label":["A","B"]},"answerKey":"A"}""", "choices.text" },
        { "arc", GoodArc, """{"question":"Sky?","choices":{"text":["blue","green"],"label":["A","B"]},"answerKey":null}""", "answerKey" },
        { "arc", GoodArc, """{"question":"Sky?","choices":{"text":["blue","green"],"label":["A","A"]},"answerKey":"A"}""", "choices.label" },
        { "generic", GoodGeneric, """{"question":"Sky?","choices":["blue",null],"answer":0}""", "choices" },
        { "generic", GoodGeneric, """{"question":"Sky?","choices":["blue","green"],"answer":5}""", "answer" },
        { "generic", GoodGeneric, """{"question":"Sky?","choices":["blue","green"],"answer":null}""", "answer" },
        { "generic", GoodGeneric, """{"question":null,"choices":["blue","green"],"answer":0}""", "question" },
        { "generic", GoodGeneric, """{"question":"Sky?","choices":null,"answer":0}""", "choices" },
        { "generic", GoodGeneric, """{"question":"Sky?","choices":["blue"],"answer":0}""", "choices" },
        { "generic", GoodGeneric, """{"question":"Sky?","choices":["blue","green"],"answer":0,"labels":["X",null]}""", "labels" },
        { "generic", GoodGeneric, """{"question":"Sky?","choices":["blue","green"],"answer":1.5}""", "answer" },
        { "mmlu", """{"question":"q","subject":"s","choices":["a","b"],"answer":0}""", """{"question":"q","subject":null,"choices":["a","b"],"answer":0}""", "subject" },
        { "hellaswag", """{"activity_label":"A","ctx_a":"b","ctx_b":"c","endings":["d","e"],"label":"0"}""", """{"activity_label":"A","ctx_a":"b","ctx_b":"c","endings":["d",null],"label":"0"}""", "endings" },
        { "piqa", """{"goal":"g","sol1":"a","sol2":"b","label":0}""", """{"goal":"g","sol1":5,"sol2":"b","label":0}""", "sol1" },
        { "winogrande", """{"sentence":"a _ b","option1":"x","option2":"y","answer":"1"}""", """{"sentence":"a _ b","option1":"x","option2":null,"answer":"1"}""", "option2" },
        { "boolq", """{"passage":"p","question":"q","label":true}""", """{"passage":"p","question":"q","label":null}""", "label" },
        { "generic", GoodGeneric, """[1, 2]""", "object" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedRecordIsRefusedNamingTheFileRecordAndField(string layout, string good, string bad, string field)
    {
        foreach (var rendering in new[] { McqRendering.Native, McqRendering.Lettered, McqRendering.Cloze })
        {
            var e = Assert.Throws<ModelFileException>(() => McqTask.FromJsonLines("task.jsonl", [good, bad], layout, rendering));
            Assert.Contains("task.jsonl", e.Message);
            Assert.Contains("line 2", e.Message);
            Assert.Contains(field, e.Message);
        }
    }

#pragma warning disable IDE1006
    public sealed class Generic { public string? question { get; set; } public List<string?>? choices { get; set; } public long answer { get; set; } }
#pragma warning restore IDE1006

    [Fact]
    public async Task ANullChoiceInAParquetFileIsRefusedByRecord()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var path = Path.Combine(dir, "generic.parquet");
            await ParquetSerializer.SerializeAsync(new[]
            {
                new Generic { question = "Sky?", choices = ["blue", "green"], answer = 0 },
                new Generic { question = "Grass?", choices = ["green", null], answer = 0 },
            }, path);
            var e = Assert.Throws<ModelFileException>(() => McqTask.Load(path));
            Assert.Contains("generic.parquet", e.Message);
            Assert.Contains("record 2", e.Message);
            Assert.Contains("choices", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    static double SoftmaxLogProb(double[] logits, int index)
    {
        double max = logits.Max(), sum = logits.Sum(v => Math.Exp(v - max));
        return logits[index] - max - Math.Log(sum);
    }

    [Fact]
    public void ClozeRenderingOfTheGenericLayoutScoresEachChoiceAsAContinuationOfTheQuestion()
    {
        var record = """{"question":"Once upon a time, there was a little girl named","choices":["Lily.","the big red ball that jumped"],"answer":0}""";
        var cloze = McqTask.FromJsonLines("story.jsonl", [record], "auto", McqRendering.Cloze).Single();
        Assert.Equal("Once upon a time, there was a little girl named", cloze.Context);
        Assert.Equal(["Lily.", "the big red ball that jumped"], cloze.Choices);
        Assert.Null(cloze.OptionLabels);
        // Native stays lettered for the generic layout (the default), so existing runs do not change.
        Assert.Equal(["A", "B"], McqTask.FromJsonLines("story.jsonl", [record], "auto").Single().Choices);

        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var result = new McqScorer(m.Runner(), m.Tokenizer).Score(cloze);
        int vocab = m.Config.VocabSize;
        for (int i = 0; i < 2; i++)
        {
            // The continuation " " + choice after the question, each token's log-probability from a naive forward pass.
            var ctx = m.Tokenizer.Encode(cloze.Context);
            var cont = m.Tokenizer.Encode(cloze.Context + " " + cloze.Choices[i])[ctx.Length..];
            var logits = NaiveReferenceTests.Naive(m.Config, m.Checkpoint.Weights, ctx.Concat(cont).ToArray()[..^1]);
            double expected = 0;
            for (int t = 0; t < cont.Length; t++)
                expected += SoftmaxLogProb(logits[((ctx.Length - 1 + t) * vocab)..((ctx.Length + t) * vocab)], cont[t]);
            Assert.Equal(expected, result.LogLikelihoods[i], 3);
        }
    }

    [Fact]
    public void AQuestionLongerThanTheContextIsCutFromTheLeftAsTheHarnessDoes()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        int max = m.Config.ContextLength;
        string story = string.Concat(Enumerable.Repeat("Lily went to the park and played with her ball. ", max / 4));
        var sample = new McqSample("long", story + "Where did Lily go?", ["park", "school"], 0);
        var scorer = new McqScorer(m.Runner(), m.Tokenizer);
        Assert.True(m.Tokenizer.Encode(sample.Context).Length > max);
        var result = scorer.Score(sample);
        Assert.Equal(1, scorer.TruncatedSamples);

        // lm-evaluation-harness: inp = (context_enc + continuation_enc)[-(max_length + 1):][:-1].
        int vocab = m.Config.VocabSize;
        for (int i = 0; i < 2; i++)
        {
            var (ctx, cont) = scorer.EncodePair(sample.Context, " " + sample.Choices[i]);
            var all = ctx.Concat(cont).ToArray();
            var input = all[^(max + 1)..][..^1];
            var logits = m.Runner().PrefillAllLogits(input, 0, m.Runner().CreateDenseCache(input.Length)).ToArray();
            double expected = 0;
            for (int t = 0; t < cont.Length; t++)
            {
                int row = input.Length - cont.Length + t;
                expected += McqScorer.LogSoftmaxAt(logits.AsSpan(row * vocab, vocab), cont[t]);
            }
            Assert.Equal(expected, result.LogLikelihoods[i], 6);
        }

        // The probe (analyze decisions, prune) cuts the same way and counts the sample once however often it runs.
        var lettered = McqTask.FromJsonLines("long.jsonl", [$$"""{"question":"{{story}}Where?","choices":["park","school"],"answer":0}"""], "generic").Single();
        var probe = new Sieve.Analysis.DecisionProbe(m.Runner(), m.Tokenizer);
        Assert.Equal(max, probe.Prepare(lettered).Prompt.Length);
        probe.Prepare(lettered);
        Assert.Equal(1, probe.TruncatedSamples);
    }
}
