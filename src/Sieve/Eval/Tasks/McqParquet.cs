using System.Text.Json;
using Parquet.Serialization;

namespace Sieve.Eval.Tasks;

/// <summary>
/// Task files in Hugging Face's Parquet layouts. Rows are read into one typed record per layout (Parquet.Net's
/// untyped reader flattens lists of strings wrongly) and rendered through the same JSON path as JSONL files.
/// </summary>
public static class McqParquet
{
    public static List<McqSample> Load(string path, string format = "auto", int limit = 0, McqRendering rendering = McqRendering.Native)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        try
        {
            if (format == "auto") format = Detect(path);
            IEnumerable<object> rows = format switch
            {
                "mmlu" => Read<MmluRow>(path),
                "generic" => Read<GenericRow>(path),
                "arc" => Read<ArcRow>(path),
                "hellaswag" => Read<HellaSwagRow>(path),
                "piqa" => Read<PiqaRow>(path),
                "boolq" => Read<BoolqRow>(path),
                "winogrande" => Read<WinograndeRow>(path),
                _ => throw new ArgumentException($"unknown task format '{format}'"),
            };
            if (limit > 0) rows = rows.Take(limit);
            var lines = rows.Select(r => JsonSerializer.Serialize(r, r.GetType())).ToList();
            return McqTask.FromJsonLines(path, lines, format, rendering);
        }
        catch (Exception e) when (e is not Formats.ModelFileException and not FileNotFoundException and not ArgumentException)
        {
            throw new Formats.ModelFileException(path, $"cannot read the Parquet task file: {e.Message}");
        }
    }

    static List<T> Read<T>(string path) where T : class, new()
    {
        using var s = File.OpenRead(path);
        return ParquetSerializer.DeserializeAsync<T>(s).GetAwaiter().GetResult().Data.ToList();
    }

    static string Detect(string path)
    {
        using var s = File.OpenRead(path);
        var reader = Parquet.ParquetReader.CreateAsync(s).GetAwaiter().GetResult();
        HashSet<string> names;
        try { names = reader.Schema.Fields.Select(f => f.Name).ToHashSet(); }
        finally { reader.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
        if (names.IsSupersetOf(["subject", "choices", "answer"])) return "mmlu";
        if (names.IsSupersetOf(["answerKey", "choices"])) return "arc";
        if (names.IsSupersetOf(["endings", "ctx_a"])) return "hellaswag";
        if (names.IsSupersetOf(["goal", "sol1"])) return "piqa";
        if (names.IsSupersetOf(["sentence", "option1", "option2"])) return "winogrande";
        if (names.IsSupersetOf(["passage", "question"])) return "boolq";
        if (names.IsSupersetOf(["question", "choices", "answer"])) return "generic";
        throw new ArgumentException($"{path}: unknown column layout ({string.Join(", ", names)})");
    }

#pragma warning disable IDE1006 // property names are the datasets' column names
    sealed class MmluRow { public string question { get; set; } = ""; public string subject { get; set; } = ""; public List<string> choices { get; set; } = []; public long answer { get; set; } }
    sealed class GenericRow { public string question { get; set; } = ""; public List<string> choices { get; set; } = []; public long answer { get; set; } }
    sealed class ArcChoices { public List<string> text { get; set; } = []; public List<string> label { get; set; } = []; }
    sealed class ArcRow { public string question { get; set; } = ""; public string answerKey { get; set; } = ""; public ArcChoices choices { get; set; } = new(); }
    sealed class HellaSwagRow { public string activity_label { get; set; } = ""; public string ctx_a { get; set; } = ""; public string ctx_b { get; set; } = ""; public List<string> endings { get; set; } = []; public string label { get; set; } = ""; }
    sealed class PiqaRow { public string goal { get; set; } = ""; public string sol1 { get; set; } = ""; public string sol2 { get; set; } = ""; public long label { get; set; } }
    sealed class WinograndeRow { public string sentence { get; set; } = ""; public string option1 { get; set; } = ""; public string option2 { get; set; } = ""; public string answer { get; set; } = ""; }
    sealed class BoolqRow { public string passage { get; set; } = ""; public string question { get; set; } = ""; public long label { get; set; } }
#pragma warning restore IDE1006
}
