using System.Text.Json;

namespace Sieve.Eval.Tasks;

/// <summary>
/// Multiple-choice tasks from JSONL in the Hugging Face datasets' layouts, rendered with lm-evaluation-harness's
/// zero-shot templates (see the method notes, section 5.2) so that accuracies compare with published ones.
/// </summary>
public static class McqTask
{
    public static readonly string[] Formats = ["generic", "mmlu", "arc", "hellaswag", "piqa", "winogrande", "boolq", "openbookqa", "sciq"];

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
        if (format != "auto" && !Formats.Contains(format)) throw new ArgumentException($"unknown task format '{format}' ({string.Join(", ", Formats)})");
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
                var sample = Render(format, e, $"{lineNo}", rendering);
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
        // Before ARC: OpenBookQA has ARC's choices and answerKey, with the question in "question_stem".
        if (Has("question_stem") && Has("choices") && Has("answerKey")) return "openbookqa";
        if (Has("answerKey") && Has("choices")) return "arc";
        if (Has("endings") && Has("ctx_a")) return "hellaswag";
        if (Has("goal") && Has("sol1")) return "piqa";
        if (Has("sentence") && Has("option1") && Has("option2")) return "winogrande";
        if (Has("passage") && Has("question") && !Has("choices")) return "boolq";
        if (Has("support") && Has("distractor1") && Has("distractor2") && Has("distractor3") && Has("correct_answer")) return "sciq";
        if (Has("question") && Has("choices") && Has("answer")) return "generic";
        throw new ArgumentException("unknown record layout (expected one of: " + string.Join(", ", Formats) + ")");
    }

    static readonly string[] Letters = ["A", "B", "C", "D", "E", "F", "G", "H"];

    static McqSample Render(string format, JsonElement e, string id, McqRendering rendering)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new FormatException($"the record is {Kind(e)}, not an object");
        bool lettered = rendering == McqRendering.Lettered;
        McqSample Native(string context, List<string> choices, int gold, string question) =>
            lettered ? Lettered(id, "", question, choices, gold, null) : new McqSample(id, context, choices, gold);
        switch (format)
        {
            case "mmlu":
            case "generic":
            {
                bool cloze = rendering == McqRendering.Cloze;
                var choices = Strings(e, "choices");
                // Lettered prompts name at most A…H; cloze scoring has no letters to run out of.
                if (choices.Count < 2 || !cloze && choices.Count > Letters.Length)
                    throw new FormatException($"'choices' has {choices.Count} entries; {(cloze ? "at least 2" : $"2 to {Letters.Length}")} are needed");
                int gold = Answer(e, "answer", choices.Count);
                // Optional "labels": option names other than A, B, C… (a small vocabulary may spell some letters
                // as two tokens, which a one-position read-out cannot compare).
                bool named = e.TryGetProperty("labels", out _);
                var labels = named ? Strings(e, "labels") : Letters.Take(choices.Count).ToList();
                if (named && labels.Count != choices.Count) throw new FormatException($"'labels' has {labels.Count} entries for {choices.Count} choices");
                if (named && labels.Distinct().Count() != labels.Count) throw new FormatException("'labels' repeats a label");
                string head = format == "mmlu" && e.TryGetProperty("subject", out _)
                    ? $"The following are multiple choice questions (with answers) about {Str(e, "subject").Replace('_', ' ')}.\n\n" : "";
                // Cloze: each choice scored as the continuation of the question itself, as the harness's default
                // multiple_choice task does (doc_to_text = question, doc_to_choice = choices, target_delimiter " ").
                if (cloze) return new McqSample(id, Str(e, "question"), choices, gold);
                return Lettered(id, head, Str(e, "question"), choices, gold, labels);
            }
            case "arc":
            {
                var text = LabelledChoices(e, Str(e, "answerKey"), out int gold);
                return Native($"Question: {Str(e, "question")}\nAnswer:", text, gold, Str(e, "question"));
            }
            case "openbookqa":
            {
                // The harness's template is the bare question stem, each choice its continuation; unlike ARC's, its
                // target strips the key first (choices.label.index(answerKey.lstrip())).
                var text = LabelledChoices(e, PyLStrip(Str(e, "answerKey")), out int gold);
                return Native(Str(e, "question_stem"), text, gold, Str(e, "question_stem"));
            }
            case "sciq":
            {
                // The harness always lists the correct answer last (doc_to_target: 3), so under --render lettered
                // every SciQ answer is D: read that accuracy against always-D, not against chance.
                string context = $"{PyLStrip(Str(e, "support"))}\nQuestion: {Str(e, "question")}";
                return Native(context + "\nAnswer:", [Str(e, "distractor1"), Str(e, "distractor2"), Str(e, "distractor3"), Str(e, "correct_answer")], 3, context);
            }
            case "hellaswag":
            {
                string ctxB = Str(e, "ctx_b");
                string ctx = Str(e, "activity_label") + ": " + Str(e, "ctx_a") + " " + (ctxB.Length > 0 ? char.ToUpperInvariant(ctxB[0]) + ctxB[1..] : "");
                var endings = Strings(e, "endings").Select(HellaSwagPreprocess).ToList();
                if (endings.Count < 2) throw new FormatException($"'endings' has {endings.Count} entries; at least 2 are needed");
                return Native(HellaSwagPreprocess(ctx), endings, Answer(e, "label", endings.Count), HellaSwagPreprocess(ctx));
            }
            case "piqa":
                return Native($"Question: {Str(e, "goal")}\nAnswer:", [Str(e, "sol1"), Str(e, "sol2")], Answer(e, "label", 2), Str(e, "goal"));
            case "winogrande":
            {
                // The harness's "multiple input" template: each option fills the blank and becomes part of the context;
                // the text after the blank is the one continuation scored under every context.
                string sentence = Str(e, "sentence");
                int blank = sentence.IndexOf('_');
                if (blank < 0) throw new FormatException("'sentence' has no '_' blank");
                List<string> options = [Str(e, "option1"), Str(e, "option2")];
                int gold = Answer(e, "answer", 2, oneBased: true);
                if (lettered) return Lettered(id, "", sentence, options, gold, null);
                return new McqSample(id, sentence[..blank], options, gold, Continuation: sentence[(blank + 1)..].Trim());
            }
            case "boolq":
            {
                var l = Field(e, "label");
                int gold = l.ValueKind is JsonValueKind.True or JsonValueKind.False ? (l.GetBoolean() ? 1 : 0) : Answer(e, "label", 2);
                return Native($"{Str(e, "passage")}\nQuestion: {Str(e, "question")}?\nAnswer:", ["no", "yes"], gold, $"{Str(e, "passage")}\nQuestion: {Str(e, "question")}?");
            }
            default:
                throw new ArgumentException($"unknown task format '{format}' ({string.Join(", ", Formats)})");
        }
    }

    /// <summary>
    /// ARC's and OpenBookQA's <c>choices: {text, label}</c>; <paramref name="gold"/> is the index of
    /// <paramref name="answerKey"/> among the labels.
    /// </summary>
    static List<string> LabelledChoices(JsonElement e, string answerKey, out int gold)
    {
        var ch = Field(e, "choices");
        if (ch.ValueKind != JsonValueKind.Object) throw new FormatException($"'choices' is {Kind(ch)}, expected an object with 'text' and 'label'");
        var text = Strings(ch, "text", "choices.");
        var label = Strings(ch, "label", "choices.");
        if (text.Count != label.Count) throw new FormatException($"'choices' has {text.Count} texts for {label.Count} labels");
        if (text.Count < 2) throw new FormatException($"'choices' has {text.Count} texts; at least 2 are needed");
        if (label.Distinct().Count() != label.Count) throw new FormatException("'choices.label' repeats a label");
        gold = label.IndexOf(answerKey);
        if (gold < 0) throw new FormatException($"'answerKey' {answerKey} is not among 'choices.label' ({string.Join(", ", label)})");
        return text;
    }

    /// <summary>
    /// Python's <c>str.lstrip()</c>: .NET's white space plus U+001C–U+001F, which Python also counts (bidi classes
    /// B and S) and the harness's templates strip.
    /// </summary>
    static string PyLStrip(string s)
    {
        int i = 0;
        while (i < s.Length && (char.IsWhiteSpace(s[i]) || s[i] is >= '\x1c' and <= '\x1f')) i++;
        return s[i..];
    }

    static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Null => "null", JsonValueKind.Array => "an array", JsonValueKind.Object => "an object",
        JsonValueKind.String => "a string", JsonValueKind.Number => "a number", _ => "a boolean",
    };

    static JsonElement Field(JsonElement e, string key, string prefix = "") =>
        e.TryGetProperty(key, out var v) ? v : throw new FormatException($"'{prefix}{key}' is missing");

    /// <summary>A required text field: present, a string, not null.</summary>
    static string Str(JsonElement e, string key, string prefix = "")
    {
        var v = Field(e, key, prefix);
        return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new FormatException($"'{prefix}{key}' is {Kind(v)}, expected a string");
    }

    /// <summary>A required list of texts: an array whose every entry is a string.</summary>
    static List<string> Strings(JsonElement e, string key, string prefix = "")
    {
        var v = Field(e, key, prefix);
        if (v.ValueKind != JsonValueKind.Array) throw new FormatException($"'{prefix}{key}' is {Kind(v)}, expected an array of strings");
        var list = new List<string>(v.GetArrayLength());
        foreach (var x in v.EnumerateArray())
            list.Add(x.ValueKind == JsonValueKind.String ? x.GetString()! : throw new FormatException($"'{prefix}{key}'[{list.Count}] is {Kind(x)}, expected a string"));
        return list;
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

    /// <summary>An answer given as an index (integer or numeric string) or a capital letter, within the choices.</summary>
    static int Answer(JsonElement e, string key, int count, bool oneBased = false)
    {
        var a = Field(e, key);
        int i = (oneBased ? -1 : 0) + a.ValueKind switch
        {
            JsonValueKind.Number when a.TryGetInt32(out var n) => n,
            JsonValueKind.String when int.TryParse(a.GetString(), out var n) => n,
            JsonValueKind.String when a.GetString() is { Length: 1 } l && char.IsAsciiLetterUpper(l[0]) => l[0] - 'A' + (oneBased ? 1 : 0),
            _ => throw new FormatException($"'{key}' is {(a.ValueKind == JsonValueKind.String ? $"'{a.GetString()}'" : a.ValueKind == JsonValueKind.Number ? a.GetRawText() : Kind(a))}, neither an index nor a letter"),
        };
        if (i < 0 || i >= count) throw new FormatException($"'{key}' {a.GetRawText()} is outside the {count} choices");
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

/// <summary>How a task's records become prompts.</summary>
public enum McqRendering
{
    /// <summary>The harness's template for the layout: lettered options for generic and MMLU, each choice as a
    /// continuation for ARC, HellaSwag, PIQA, BoolQ, OpenBookQA and SciQ, partial scoring for WinoGrande.</summary>
    Native,
    /// <summary>Every layout as an MMLU-style question with lettered options, scored by the letter.</summary>
    Lettered,
    /// <summary>Each choice scored as the continuation of the question: generic and MMLU records become the bare
    /// question (the harness's default multiple_choice task); the other layouts keep their native template.</summary>
    Cloze,
}
