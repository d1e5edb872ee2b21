using System.Text;
using Parquet.Serialization;

namespace Sieve.Fuzz.Seeds;

/// <summary>Two records of each Hugging Face dataset layout McqTask reads, as JSONL and (via Parquet.Net) as Parquet.</summary>
public static class TaskSeeds
{
    public static Dictionary<string, byte[]> JsonlLayouts() => new()
    {
        ["arc"] = Lines(
            """{"id": "q1", "question": "What do plants need?", "choices": {"text": ["light", "noise", "rocks", "ice"], "label": ["A", "B", "C", "D"]}, "answerKey": "A"}""",
            """{"id": "q2", "question": "Which is a liquid?", "choices": {"text": ["stone", "water", "wood"], "label": ["1", "2", "3"]}, "answerKey": "2"}"""),
        ["hellaswag"] = Lines(
            """{"activity_label": "Cooking", "ctx_a": "A man cracks an egg.", "ctx_b": "he", "endings": ["fries it.", "eats the shell.", "sings.", "sleeps [title] now."], "label": "0"}""",
            """{"activity_label": "Running", "ctx_a": "A girl ties her shoes.", "ctx_b": "", "endings": ["runs.", "flies.", "melts.", "swims."], "label": 0}"""),
        ["mmlu"] = Lines(
            """{"question": "2 + 2 = ?", "subject": "elementary_mathematics", "choices": ["3", "4", "5", "22"], "answer": 1}""",
            """{"question": "Capital of France?", "subject": "geography", "choices": ["Paris", "Rome", "Oslo", "Bern"], "answer": 0}"""),
        ["piqa"] = Lines("""{"goal": "Open a jar.", "sol1": "Twist the lid.", "sol2": "Paint the lid.", "label": 0}"""),
        ["winogrande"] = Lines("""{"sentence": "The cup fell because _ was slippery.", "option1": "the cup", "option2": "the table", "answer": "1"}"""),
        ["boolq"] = Lines("""{"passage": "Cats are mammals.", "question": "are cats mammals", "label": true}"""),
        ["openbookqa"] = Lines("""{"id": "7-980", "question_stem": "The sun is responsible for", "choices": {"text": ["puppies learning", "plants blooming"], "label": ["A", "B"]}, "answerKey": "B"}"""),
        ["sciq"] = Lines("""{"question": "Which gas do plants take in?", "distractor3": "helium", "distractor1": "oxygen", "distractor2": "neon", "correct_answer": "carbon dioxide", "support": " Plants use carbon dioxide."}"""),
        ["generic"] = Lines("""{"question": "Tom went home. Where did Tom go?", "choices": ["home", "school"], "answer": "A"}"""),
    };

    static byte[] Lines(params string[] lines) => Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n");

#pragma warning disable IDE1006 // the datasets' column names
    sealed class GenericRow { public string question { get; set; } = ""; public List<string> choices { get; set; } = []; public long answer { get; set; } }
    sealed class MmluRow { public string question { get; set; } = ""; public string subject { get; set; } = ""; public List<string> choices { get; set; } = []; public long answer { get; set; } }
    sealed class ArcChoices { public List<string> text { get; set; } = []; public List<string> label { get; set; } = []; }
    sealed class ArcRow { public string question { get; set; } = ""; public string answerKey { get; set; } = ""; public ArcChoices choices { get; set; } = new(); }
    sealed class HellaSwagRow { public string activity_label { get; set; } = ""; public string ctx_a { get; set; } = ""; public string ctx_b { get; set; } = ""; public List<string> endings { get; set; } = []; public string label { get; set; } = ""; }
    sealed class ObqaRow { public string question_stem { get; set; } = ""; public string answerKey { get; set; } = ""; public ArcChoices choices { get; set; } = new(); }
    sealed class SciqRow { public string question { get; set; } = ""; public string distractor1 { get; set; } = ""; public string distractor2 { get; set; } = ""; public string distractor3 { get; set; } = ""; public string correct_answer { get; set; } = ""; public string support { get; set; } = ""; }
    sealed class BoolqRow { public string passage { get; set; } = ""; public string question { get; set; } = ""; public long label { get; set; } }
#pragma warning restore IDE1006

    public static Dictionary<string, byte[]> ParquetLayouts() => new()
    {
        ["generic"] = Write(new[] { new GenericRow { question = "Where is home?", choices = ["here", "there"], answer = 0 }, new GenericRow { question = "Sky colour?", choices = ["blue", "red", "green"], answer = 0 } }),
        ["mmlu"] = Write(new[] { new MmluRow { question = "2 + 2 = ?", subject = "math", choices = ["3", "4", "5", "6"], answer = 1 } }),
        ["arc"] = Write(new[] { new ArcRow { question = "What do plants need?", answerKey = "A", choices = new() { text = ["light", "noise"], label = ["A", "B"] } } }),
        ["hellaswag"] = Write(new[] { new HellaSwagRow { activity_label = "Cooking", ctx_a = "A man cracks an egg.", ctx_b = "he", endings = ["fries it.", "eats it.", "sings.", "sleeps."], label = "0" } }),
        ["openbookqa"] = Write(new[] { new ObqaRow { question_stem = "The sun is responsible for", answerKey = "B", choices = new() { text = ["puppies learning", "plants blooming"], label = ["A", "B"] } } }),
        ["sciq"] = Write(new[] { new SciqRow { question = "Which gas do plants take in?", distractor1 = "oxygen", distractor2 = "neon", distractor3 = "helium", correct_answer = "carbon dioxide", support = " Plants use carbon dioxide." } }),
        ["boolq"] = Write(new[] { new BoolqRow { passage = "Cats are mammals.", question = "are cats mammals", label = 1 } }),
    };

    static byte[] Write<T>(IEnumerable<T> rows)
    {
        var ms = new MemoryStream();
        ParquetSerializer.SerializeAsync(rows, ms).GetAwaiter().GetResult();
        return ms.ToArray();
    }
}
