using System.Text.Json;

namespace Sieve.Eval.Tasks;

/// <summary>
/// Multiple-choice tasks from JSONL in the Hugging Face datasets' layouts, rendered with lm-evaluation-harness's
/// zero-shot templates (see the method notes, section 5.2) so that accuracies compare with published ones.
/// </summary>
public static class McqTask
{
    public static readonly string[] Formats = ["generic", "mmlu", "arc", "hellaswag", "piqa", "winogrande", "boolq"];

    /// <summary>
    /// Reads a task file: JSONL, or Parquet (by extension). <paramref name="format"/> "auto" picks the layout from
    /// the first record's fields.
    /// </summary>
    /// <param name="rendering">Native: the harness's own template for the layout. Lettered: every layout as an
    /// MMLU-style question with lettered options, scored by the letter (method notes §1.2: "render them in the same
    /// lettered format"), so the decision probe reads one position for any task.</param>
    public static List<McqSample> Load(string path, string format = "auto", int limit = 0, McqRendering rendering = McqRendering.Native)
    {
        if (path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase)) return McqParquet.Load(path, format, limit, rendering);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        var lines = File.ReadLines(path);
        return FromJsonLines(path, limit > 0 ? lines.Where(l => !string.IsNullOrWhiteSpace(l)).Take(limit) : lines, format, rendering);
    }

    /// <summary>Renders JSON records (one per line) of one layout; errors name <paramref name="source"/> and the line.</summary>
    public static List<McqSample> FromJsonLines(string source, IEnumerable<string> lines, string format, McqRendering rendering = McqRendering.Native, string unit = "line")
    {
        var samples = new List<McqSample>();
        int lineNo = 0;
        foreach (var line in lines)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonElement e;
            try { e = JsonDocument.Parse(line).RootElement; }
            catch (JsonException ex) { throw new Formats.ModelFileException(source, $"{unit} {lineNo} is not JSON: {ex.Message}"); }
            try
            {
                if (format == "auto") format = Detect(e);
                var sample = Render(format, e, $"{lineNo}", rendering == McqRendering.Lettered);
                samples.Add(sample);
            }
            catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
            {
                throw new Formats.ModelFileException(source, $"{unit} {lineNo} is not a valid {format} record: {ex.Message}");
            }
        }
        if (samples.Count == 0) throw new Formats.ModelFileException(source, "no samples");
        return samples;
    }

    static string Detect(JsonElement e)
    {
        bool Has(string k) => e.TryGetProperty(k, out _);
        if (Has("subject") && Has("choices") && Has("answer")) return "mmlu";
        if (Has("answerKey") && Has("choices")) return "arc";
        if (Has("endings") && Has("ctx_a")) return "hellaswag";
        if (Has("goal") && Has("sol1")) return "piqa";
        if (Has("sentence") && Has("option1") && Has("option2")) return "winogrande";
        if (Has("passage") && Has("question") && !Has("choices")) return "boolq";
        if (Has("question") && Has("choices") && Has("answer")) return "generic";
        throw new ArgumentException("unknown record layout (expected one of: " + string.Join(", ", Formats) + ")");
    }

    static readonly string[] Letters = ["A", "B", "C", "D", "E", "F", "G", "H"];

    static McqSample Render(string format, JsonElement e, string id, bool lettered)
    {
        string S(string k) => e.GetProperty(k).GetString() ?? throw new FormatException($"'{k}' is null");
        McqSample Native(string context, List<string> choices, int gold, string question) =>
            lettered ? Lettered(id, "", question, choices, gold, null) : new McqSample(id, context, choices, gold);
        switch (format)
        {
            case "mmlu":
            case "generic":
            {
                var choices = e.GetProperty("choices").EnumerateArray().Select(c => c.GetString()!).ToList();
                if (choices.Count < 2 || choices.Count > Letters.Length) throw new FormatException($"{choices.Count} choices");
                int gold = Answer(e.GetProperty("answer"), choices.Count);
                // Optional "labels": option names other than A, B, C… (a small vocabulary may spell some letters
                // as two tokens, which a one-position read-out cannot compare).
                var labels = e.TryGetProperty("labels", out var lab)
                    ? lab.EnumerateArray().Select(x => x.GetString()!).ToList()
                    : Letters.Take(choices.Count).ToList();
                if (labels.Count != choices.Count) throw new FormatException($"{labels.Count} labels for {choices.Count} choices");
                string head = format == "mmlu" && e.TryGetProperty("subject", out var subj)
                    ? $"The following are multiple choice questions (with answers) about {subj.GetString()!.Replace('_', ' ')}.\n\n" : "";
                return Lettered(id, head, S("question"), choices, gold, labels);
            }
            case "arc":
            {
                var ch = e.GetProperty("choices");
                var text = ch.GetProperty("text").EnumerateArray().Select(c => c.GetString()!).ToList();
                var label = ch.GetProperty("label").EnumerateArray().Select(c => c.GetString()!).ToList();
                int gold = label.IndexOf(S("answerKey"));
                if (gold < 0) throw new FormatException("answerKey is not among the labels");
                return Native($"Question: {S("question")}\nAnswer:", text, gold, S("question"));
            }
            case "hellaswag":
            {
                string ctxB = S("ctx_b");
                string ctx = S("activity_label") + ": " + S("ctx_a") + " " + (ctxB.Length > 0 ? char.ToUpperInvariant(ctxB[0]) + ctxB[1..] : "");
                var endings = e.GetProperty("endings").EnumerateArray().Select(x => HellaSwagPreprocess(x.GetString()!)).ToList();
                return Native(HellaSwagPreprocess(ctx), endings, Answer(e.GetProperty("label"), endings.Count), HellaSwagPreprocess(ctx));
            }
            case "piqa":
                return Native($"Question: {S("goal")}\nAnswer:", [S("sol1"), S("sol2")], Answer(e.GetProperty("label"), 2), S("goal"));
            case "winogrande":
            {
                // The harness's "multiple input" template: each option fills the blank and becomes part of the context;
                // the text after the blank is the one continuation scored under every context.
                string sentence = S("sentence");
                int blank = sentence.IndexOf('_');
                if (blank < 0) throw new FormatException("the sentence has no '_' blank");
                List<string> options = [S("option1"), S("option2")];
                int gold = Answer(e.GetProperty("answer"), 2, oneBased: true);
                if (lettered) return Lettered(id, "", sentence, options, gold, null);
                return new McqSample(id, sentence[..blank], options, gold, Continuation: sentence[(blank + 1)..].Trim());
            }
            case "boolq":
            {
                int gold = e.GetProperty("label") is { ValueKind: JsonValueKind.True or JsonValueKind.False } b ? (b.GetBoolean() ? 1 : 0) : Answer(e.GetProperty("label"), 2);
                return Native($"{S("passage")}\nQuestion: {S("question")}?\nAnswer:", ["no", "yes"], gold, $"{S("passage")}\nQuestion: {S("question")}?");
            }
            default:
                throw new ArgumentException($"unknown task format '{format}' ({string.Join(", ", Formats)})");
        }
    }

    /// <summary>MMLU's layout: the question, one "X. option" line per choice, "Answer:"; the choices are the letters.</summary>
    static McqSample Lettered(string id, string head, string question, IReadOnlyList<string> choices, int gold, IReadOnlyList<string>? labels)
    {
        if (choices.Count < 2 || choices.Count > Letters.Length) throw new FormatException($"{choices.Count} choices");
        labels ??= Letters.Take(choices.Count).ToList();
        var body = question.Trim() + "\n" + string.Concat(choices.Select((c, i) => $"{labels[i]}. {c}\n")) + "Answer:";
        return new McqSample(id, head + body, labels, gold, labels);
    }

    /// <summary>
    /// The harness's classic k-shot layout: each shot rendered as its context + " " + its gold choice, shots joined
    /// by "\n\n", then "\n\n" and the sample's own context. A task description line (MMLU's "The following are
    /// multiple choice questions…\n\n") stays once, at the top.
    /// </summary>
    public static McqSample WithShots(McqSample sample, IReadOnlyList<McqSample> shots)
    {
        if (shots.Count == 0) return sample;
        const string marker = "\n\n";
        string Strip(string ctx, out string head)
        {
            head = "";
            if (ctx.StartsWith("The following are multiple choice questions") && ctx.IndexOf(marker, StringComparison.Ordinal) is int i and >= 0)
            {
                head = ctx[..(i + marker.Length)];
                return ctx[(i + marker.Length)..];
            }
            return ctx;
        }
        if (sample.IsMultipleInput || shots.Any(s => s.IsMultipleInput))
        {
            // WinoGrande: a shot is its gold-filled sentence; the sample's contexts all start with the shots.
            var solved = shots.Select(s => s.IsMultipleInput ? s.Context + s.Choices[s.Gold] + " " + s.Continuation : s.Context + " " + s.Choices[s.Gold]);
            return sample with { Context = string.Join(marker, solved) + marker + sample.Context };
        }
        var body = Strip(sample.Context, out var description);
        var rendered = shots.Select(s => Strip(s.Context, out _) + " " + s.Choices[s.Gold]);
        return sample with { Context = description + string.Join(marker, rendered) + marker + body };
    }

    /// <summary>An answer given as an index (number or numeric string) or a letter.</summary>
    static int Answer(JsonElement a, int count, bool oneBased = false)
    {
        int i = (oneBased ? -1 : 0) + a.ValueKind switch
        {
            JsonValueKind.Number => a.GetInt32(),
            JsonValueKind.String when int.TryParse(a.GetString(), out var n) => n,
            JsonValueKind.String when a.GetString() is { Length: 1 } l && char.IsAsciiLetterUpper(l[0]) => l[0] - 'A' + (oneBased ? 1 : 0),
            _ => throw new FormatException($"answer '{a}' is neither an index nor a letter"),
        };
        if (i < 0 || i >= count) throw new FormatException($"answer {i} is outside 0..{count - 1}");
        return i;
    }

    /// <summary>The harness's HellaSwag preprocess: strip, " [title]" → ". ", drop [bracketed] text, collapse double spaces.</summary>
    public static string HellaSwagPreprocess(string text)
    {
        text = text.Trim().Replace(" [title]", ". ");
        text = System.Text.RegularExpressions.Regex.Replace(text, @"\[.*?\]", "");
        return text.Replace("  ", " ");
    }
}

/// <summary>How a task's records become prompts: the harness's template for the layout, or MMLU-style lettered options.</summary>
public enum McqRendering { Native, Lettered }
