using Parquet.Serialization;
using Sieve.Eval.Tasks;
using Sieve.Formats;

namespace Sieve.Tests.Eval;

/// <summary>
/// OpenBookQA and SciQ, the two of CHESS's eight tasks beyond the other layouts: the harness's zero-shot templates
/// (lm-eval 4e7e0d4, method notes §5.2), auto-detection from JSONL fields and Parquet columns, malformed rows refused.
/// </summary>
public class McqOpenBookQaSciqTests
{
    // Records shaped as the Hugging Face files are (allenai/openbookqa "main", allenai/sciq), ids included.
    const string Obqa = """{"id":"7-980","question_stem":"The sun is responsible for","choices":{"text":["puppies learning new tricks","children growing up and getting old","flowers wilting in a vase","plants sprouting, blooming and wilting"],"label":["A","B","C","D"]},"answerKey":"D"}""";
    const string Sciq = """{"question":"What type of organism is commonly used in preparation of foods such as cheese and yogurt?","distractor3":"viruses","distractor1":"protozoa","distractor2":"gymnosperms","correct_answer":"mesophilic organisms","support":"  Mesophiles grow best in moderate temperature."}""";

    static void AssertObqa(McqSample s)
    {
        Assert.Equal("The sun is responsible for", s.Context);
        Assert.Equal(["puppies learning new tricks", "children growing up and getting old", "flowers wilting in a vase", "plants sprouting, blooming and wilting"], s.Choices);
        Assert.Equal(3, s.Gold);
        Assert.Equal(("The sun is responsible for", " plants sprouting, blooming and wilting"), s.Request(3));
        Assert.Null(s.OptionLabels);
        Assert.False(s.IsMultipleInput);
    }

    static void AssertSciq(McqSample s)
    {
        // support.lstrip(): the leading spaces go; the question is not stripped.
        Assert.Equal("Mesophiles grow best in moderate temperature.\nQuestion: What type of organism is commonly used in preparation of foods such as cheese and yogurt?\nAnswer:", s.Context);
        Assert.Equal(["protozoa", "gymnosperms", "viruses", "mesophilic organisms"], s.Choices);
        Assert.Equal(3, s.Gold);
        Assert.Equal(" mesophilic organisms", s.Request(3).Continuation);
        Assert.Null(s.OptionLabels);
    }

    [Fact]
    public void JsonlRecordsRenderWithTheHarnessTemplatesAndAreDetected()
    {
        AssertObqa(McqTask.FromJsonLines("obqa.jsonl", [Obqa], "auto").Single());
        AssertObqa(McqTask.FromJsonLines("obqa.jsonl", [Obqa], "openbookqa").Single());
        AssertSciq(McqTask.FromJsonLines("sciq.jsonl", [Sciq], "auto").Single());
        AssertSciq(McqTask.FromJsonLines("sciq.jsonl", [Sciq], "sciq").Single());

        // An empty support leaves the template's leading newline, as the harness renders it.
        var bare = McqTask.FromJsonLines("sciq.jsonl", ["""{"question":"q?","distractor1":"a","distractor2":"b","distractor3":"c","correct_answer":"d","support":""}"""], "auto").Single();
        Assert.Equal("\nQuestion: q?\nAnswer:", bare.Context);
        // OpenBookQA's target strips the key (answerKey.lstrip()); ARC's does not.
        var spaced = Obqa.Replace("\"answerKey\":\"D\"", "\"answerKey\":\" B\"");
        Assert.Equal(1, McqTask.FromJsonLines("obqa.jsonl", [spaced], "auto").Single().Gold);
    }

    [Fact]
    public void LetteredRenderingListsTheChoicesInTheHarnessOrder()
    {
        var o = McqTask.FromJsonLines("obqa.jsonl", [Obqa], "auto", McqRendering.Lettered).Single();
        Assert.StartsWith("The sun is responsible for\nA. puppies", o.Context);
        Assert.Equal(3, o.Gold);
        var s = McqTask.FromJsonLines("sciq.jsonl", [Sciq], "auto", McqRendering.Lettered).Single();
        Assert.Equal("Mesophiles grow best in moderate temperature.\nQuestion: What type of organism is commonly used in preparation of foods such as cheese and yogurt?\nA. protozoa\nB. gymnosperms\nC. viruses\nD. mesophilic organisms\nAnswer:", s.Context);
        Assert.Equal(["A", "B", "C", "D"], s.Choices);
        Assert.Equal(3, s.Gold);
    }

    public static TheoryData<string, string, string> Malformed => new()
    {
        // layout, the bad second record, the field the error must name
        { "openbookqa", """{"question_stem":null,"choices":{"text":["a","b"],"label":["A","B"]},"answerKey":"A"}""", "question_stem" },
        { "openbookqa", """{"question_stem":"q","choices":{"text":["a","b"],"label":["A","B"]},"answerKey":"E"}""", "answerKey" },
        { "openbookqa", """{"question_stem":"q","choices":{"text":["a",7],"label":["A","B"]},"answerKey":"A"}""", "choices.text" },
        { "openbookqa", """{"question_stem":"q","choices":["a","b"],"answerKey":"A"}""", "choices" },
        { "openbookqa", """{"question_stem":"q","choices":{"text":["a","b"],"label":["A","B"]}}""", "answerKey" },
        { "sciq", """{"question":"q","distractor1":"a","distractor2":"b","distractor3":null,"correct_answer":"d","support":"s"}""", "distractor3" },
        { "sciq", """{"question":"q","distractor1":"a","distractor2":"b","distractor3":"c","correct_answer":["d"],"support":"s"}""", "correct_answer" },
        { "sciq", """{"distractor1":"a","distractor2":"b","distractor3":"c","correct_answer":"d","support":"s"}""", "question" },
        { "sciq", """{"question":"q","distractor1":"a","distractor2":"b","distractor3":"c","correct_answer":"d","support":3}""", "support" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedJsonlRecordIsRefusedNamingTheFileLineAndField(string layout, string bad, string field)
    {
        string good = layout == "sciq" ? Sciq : Obqa;
        foreach (var format in new[] { "auto", layout })
        {
            var e = Assert.Throws<ModelFileException>(() => McqTask.FromJsonLines("task.jsonl", [good, bad], format));
            Assert.Contains("task.jsonl", e.Message);
            Assert.Contains("line 2", e.Message);
            Assert.Contains(field, e.Message);
        }
    }

#pragma warning disable IDE1006 // the datasets' column names
    public sealed class Choices { public List<string> text { get; set; } = []; public List<string> label { get; set; } = []; }
    public sealed class ObqaRow { public string id { get; set; } = ""; public string? question_stem { get; set; } public Choices choices { get; set; } = new(); public string answerKey { get; set; } = ""; }
    public sealed class SciqRow
    {
        public string question { get; set; } = ""; public string distractor3 { get; set; } = ""; public string distractor1 { get; set; } = "";
        public string distractor2 { get; set; } = ""; public string? correct_answer { get; set; } public string support { get; set; } = "";
    }
#pragma warning restore IDE1006

    static ObqaRow GoodObqa() => new()
    {
        id = "7-980", question_stem = "The sun is responsible for", answerKey = "D",
        choices = new() { text = ["puppies learning new tricks", "children growing up and getting old", "flowers wilting in a vase", "plants sprouting, blooming and wilting"], label = ["A", "B", "C", "D"] },
    };

    static SciqRow GoodSciq() => new()
    {
        question = "What type of organism is commonly used in preparation of foods such as cheese and yogurt?",
        distractor1 = "protozoa", distractor2 = "gymnosperms", distractor3 = "viruses", correct_answer = "mesophilic organisms",
        support = "  Mesophiles grow best in moderate temperature.",
    };

    [Fact]
    public async Task ParquetFilesRenderLikeTheirJsonlAndAreDetectedByColumns()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var obqa = Path.Combine(dir, "openbookqa.parquet");
            await ParquetSerializer.SerializeAsync(new[] { GoodObqa() }, obqa);
            AssertObqa(McqTask.Load(obqa).Single());
            AssertObqa(McqTask.Load(obqa, "openbookqa").Single());

            var sciq = Path.Combine(dir, "sciq.parquet");
            await ParquetSerializer.SerializeAsync(new[] { GoodSciq(), GoodSciq() }, sciq);
            AssertSciq(McqTask.Load(sciq)[0]);
            Assert.Single(McqTask.Load(sciq, "sciq", limit: 1));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task ANullFieldInAParquetFileIsRefusedByRecord()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var obqa = Path.Combine(dir, "openbookqa.parquet");
            var badObqa = GoodObqa();
            badObqa.question_stem = null;
            await ParquetSerializer.SerializeAsync(new[] { GoodObqa(), badObqa }, obqa);
            var e = Assert.Throws<ModelFileException>(() => McqTask.Load(obqa));
            Assert.Contains("openbookqa.parquet", e.Message);
            Assert.Contains("record 2", e.Message);
            Assert.Contains("question_stem", e.Message);

            var sciq = Path.Combine(dir, "sciq.parquet");
            var badSciq = GoodSciq();
            badSciq.correct_answer = null;
            await ParquetSerializer.SerializeAsync(new[] { GoodSciq(), badSciq }, sciq);
            e = Assert.Throws<ModelFileException>(() => McqTask.Load(sciq));
            Assert.Contains("sciq.parquet", e.Message);
            Assert.Contains("record 2", e.Message);
            Assert.Contains("correct_answer", e.Message);

            // A forced layout whose columns the file lacks reads them as null, refused the same way.
            e = Assert.Throws<ModelFileException>(() => McqTask.Load(obqa, "sciq"));
            Assert.Contains("openbookqa.parquet", e.Message);
            Assert.Contains("record 1", e.Message);
            Assert.Contains("'support' is null", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
