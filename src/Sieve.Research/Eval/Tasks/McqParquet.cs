using System.Text.Json;
using Parquet.Serialization;

namespace Sieve.Eval.Tasks;

/// <summary>
/// Task files in Hugging Face's Parquet layouts. Rows are read into one typed record per layout (Parquet.Net's
/// untyped reader flattens lists of strings wrongly) and rendered through the same JSON path as JSONL files.
/// </summary>
public static class McqParquet
{
    /// <summary>
    /// How long reading one file may take: 60 s, ~30× what Parquet.Net needs for MMLU's 99,842-row auxiliary train
    /// split. <see cref="ParquetFileCheck"/> bounds what the reader allocates; this bounds what it may spend.
    /// </summary>
    public static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(60);

    static readonly string[] Layouts = ["mmlu", "generic", "arc", "hellaswag", "piqa", "boolq", "winogrande", "openbookqa", "sciq"];

    public static List<McqSample> Load(string path, string format = "auto", int limit = 0, McqRendering rendering = McqRendering.Native, TimeSpan? timeLimit = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        if (format != "auto" && !Layouts.Contains(format)) throw new ArgumentException($"unknown task format '{format}' ({string.Join(", ", McqTask.Formats)})");
        var layout = ParquetFileCheck.Check(path);
        var (lines, detected) = Bounded(path, timeLimit ?? TimeLimit, cancel =>
        {
            string f = format == "auto" ? Detect(path, layout, cancel) : format;
            IEnumerable<object> rows = f switch
            {
                "mmlu" => Read<MmluRow>(path, layout, cancel),
                "generic" => Read<GenericRow>(path, layout, cancel),
                "arc" => Read<ArcRow>(path, layout, cancel),
                "hellaswag" => Read<HellaSwagRow>(path, layout, cancel),
                "piqa" => Read<PiqaRow>(path, layout, cancel),
                "boolq" => Read<BoolqRow>(path, layout, cancel),
                "openbookqa" => Read<OpenBookQaRow>(path, layout, cancel),
                "sciq" => Read<SciqRow>(path, layout, cancel),
                _ => Read<WinograndeRow>(path, layout, cancel),
            };
            if (limit > 0) rows = rows.Take(limit);
            return (rows.Select(r => JsonSerializer.Serialize(r, r.GetType())).ToList(), f);
        });
        return McqTask.FromJsonLines(path, lines, detected, rendering, "record");
    }

    /// <summary>
    /// Runs Parquet.Net under <paramref name="limit"/>; anything it throws, and running out of time, becomes a
    /// <see cref="Formats.ModelFileException"/> naming the file. On time-out the reader's stream throws at its next call.
    /// </summary>
    static T Bounded<T>(string path, TimeSpan limit, Func<CancellationToken, T> read)
    {
        using var cancel = new CancellationTokenSource();
        var task = Task.Run(() => read(cancel.Token));
        try
        {
            if (task.Wait(limit)) return task.Result;
        }
        catch (AggregateException e) when (e.InnerException is Formats.ModelFileException inner)
        {
            throw new Formats.ModelFileException(path, inner.Problem, inner);
        }
        catch (AggregateException e)
        {
            var inner = e.InnerException ?? e;
            throw new Formats.ModelFileException(path, $"cannot read the Parquet task file: {inner.Message}", inner);
        }
        cancel.Cancel();
        throw new Formats.ModelFileException(path, $"reading the Parquet task file took longer than {limit.TotalSeconds:0.###} s; it is corrupt or too large");
    }

    static List<T> Read<T>(string path, ParquetLayout layout, CancellationToken cancel) where T : class, new()
    {
        using var s = new CheckedParquetStream(path, layout, cancel);
        return ParquetSerializer.DeserializeAsync<T>(s, cancellationToken: cancel).GetAwaiter().GetResult().Data.ToList();
    }

    static string Detect(string path, ParquetLayout layout, CancellationToken cancel)
    {
        using var s = new CheckedParquetStream(path, layout, cancel);
        var reader = Parquet.ParquetReader.CreateAsync(s, cancellationToken: cancel).GetAwaiter().GetResult();
        HashSet<string> names;
        try { names = reader.Schema.Fields.Select(f => f.Name).ToHashSet(); }
        finally { reader.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
        if (names.IsSupersetOf(["subject", "choices", "answer"])) return "mmlu";
        // Before ARC: OpenBookQA has ARC's choices and answerKey, with the question in "question_stem".
        if (names.IsSupersetOf(["question_stem", "choices", "answerKey"])) return "openbookqa";
        if (names.IsSupersetOf(["answerKey", "choices"])) return "arc";
        if (names.IsSupersetOf(["endings", "ctx_a"])) return "hellaswag";
        if (names.IsSupersetOf(["goal", "sol1"])) return "piqa";
        if (names.IsSupersetOf(["sentence", "option1", "option2"])) return "winogrande";
        if (names.IsSupersetOf(["passage", "question"])) return "boolq";
        if (names.IsSupersetOf(["support", "distractor1", "distractor2", "distractor3", "correct_answer"])) return "sciq";
        if (names.IsSupersetOf(["question", "choices", "answer"])) return "generic";
        throw new Formats.ModelFileException(path, $"unknown column layout ({string.Join(", ", names)}); expected one of: {string.Join(", ", McqTask.Formats)}");
    }

#pragma warning disable IDE1006 // property names are the datasets' column names
    sealed class MmluRow { public string question { get; set; } = ""; public string subject { get; set; } = ""; public List<string> choices { get; set; } = []; public long answer { get; set; } }
    sealed class GenericRow { public string question { get; set; } = ""; public List<string> choices { get; set; } = []; public long answer { get; set; } }
    sealed class ArcChoices { public List<string> text { get; set; } = []; public List<string> label { get; set; } = []; }
    sealed class ArcRow { public string question { get; set; } = ""; public string answerKey { get; set; } = ""; public ArcChoices choices { get; set; } = new(); }
    sealed class HellaSwagRow { public string activity_label { get; set; } = ""; public string ctx_a { get; set; } = ""; public string ctx_b { get; set; } = ""; public List<string> endings { get; set; } = []; public string label { get; set; } = ""; }
    sealed class PiqaRow { public string goal { get; set; } = ""; public string sol1 { get; set; } = ""; public string sol2 { get; set; } = ""; public long label { get; set; } }
    sealed class WinograndeRow { public string sentence { get; set; } = ""; public string option1 { get; set; } = ""; public string option2 { get; set; } = ""; public string answer { get; set; } = ""; }
    // Nullable and without defaults: Parquet.Net leaves a null cell (or a column the file lacks) unassigned, so a
    // default of "" would render it silently; null reaches McqTask, which names the field.
    sealed class OpenBookQaRow { public string? question_stem { get; set; } public string? answerKey { get; set; } public ArcChoices? choices { get; set; } }
    sealed class SciqRow { public string? question { get; set; } public string? distractor1 { get; set; } public string? distractor2 { get; set; } public string? distractor3 { get; set; } public string? correct_answer { get; set; } public string? support { get; set; } }
    sealed class BoolqRow { public string passage { get; set; } = ""; public string question { get; set; } = ""; public long label { get; set; } }
#pragma warning restore IDE1006
}
