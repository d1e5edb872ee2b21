using Parquet.Serialization;
using Sieve.Eval.Tasks;

namespace Sieve.Tests.Eval;

public class McqParquetTests
{
#pragma warning disable IDE1006
    public sealed class Mmlu { public string question { get; set; } = ""; public string subject { get; set; } = ""; public List<string> choices { get; set; } = []; public long answer { get; set; } }
    public sealed class ArcChoices { public List<string> text { get; set; } = []; public List<string> label { get; set; } = []; }
    public sealed class Arc { public string id { get; set; } = ""; public string question { get; set; } = ""; public string answerKey { get; set; } = ""; public ArcChoices choices { get; set; } = new(); }
    public sealed class Winogrande { public string sentence { get; set; } = ""; public string option1 { get; set; } = ""; public string option2 { get; set; } = ""; public string answer { get; set; } = ""; }
#pragma warning restore IDE1006

    [Fact]
    public async Task ReadsHuggingFaceParquetLayoutsLikeTheirJsonl()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var mmlu = Path.Combine(dir, "mmlu.parquet");
            await ParquetSerializer.SerializeAsync(new[]
            {
                new Mmlu { question = "2+2?", subject = "elementary_mathematics", choices = ["3", "4", "5", "6"], answer = 1 },
                new Mmlu { question = "1+1?", subject = "elementary_mathematics", choices = ["2", "3", "4", "5"], answer = 0 },
            }, mmlu);
            var m = McqTask.Load(mmlu);
            Assert.Equal(2, m.Count);
            Assert.Equal("The following are multiple choice questions (with answers) about elementary mathematics.\n\n2+2?\nA. 3\nB. 4\nC. 5\nD. 6\nAnswer:", m[0].Context);
            Assert.Equal(1, m[0].Gold);
            Assert.Single(McqTask.Load(mmlu, limit: 1));

            var arc = Path.Combine(dir, "arc.parquet");
            await ParquetSerializer.SerializeAsync(new[] { new Arc { id = "x", question = "Sky?", answerKey = "B", choices = new() { text = ["green", "blue"], label = ["A", "B"] } } }, arc);
            var a = McqTask.Load(arc).Single();
            Assert.Equal("Question: Sky?\nAnswer:", a.Context);
            Assert.Equal(["green", "blue"], a.Choices);
            Assert.Equal(1, a.Gold);

            var wg = Path.Combine(dir, "winogrande.parquet");
            await ParquetSerializer.SerializeAsync(new[] { new Winogrande { sentence = "Ann hugged Bea because _ was kind.", option1 = "Ann", option2 = "Bea", answer = "1" } }, wg);
            var w = McqTask.Load(wg).Single();
            Assert.Equal(("Ann hugged Bea because Ann", " was kind."), w.Request(0));
            Assert.Equal(0, w.Gold);

            var bad = Path.Combine(dir, "bad.parquet");
            File.WriteAllBytes(bad, [1, 2, 3, 4, 5]);
            var e = Assert.Throws<Sieve.Formats.ModelFileException>(() => McqTask.Load(bad));
            Assert.Contains("bad.parquet", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
