using System.Text;
using Sieve.Fuzz.Json;

namespace Sieve.Fuzz.Mutators;

/// <summary>
/// Mutates a JSONL task file (the ARC, HellaSwag, MMLU, PIQA, WinoGrande, BoolQ, OpenBookQA, SciQ and generic layouts): records get
/// values of the wrong kind, nulls, missing fields, huge strings, answers outside the choices, too few or too many
/// choices; lines are dropped, duplicated, swapped for another layout's record or for text that is not JSON.
/// </summary>
public static class JsonlTaskMutator
{
    static readonly string[] Fields =
    [
        "question", "choices", "answer", "labels", "subject", "answerKey", "text", "label", "endings", "ctx_a", "ctx_b", "ctx",
        "activity_label", "goal", "sol1", "sol2", "sentence", "option1", "option2", "passage", "id",
        "question_stem", "support", "distractor1", "distractor2", "distractor3", "correct_answer",
    ];

    static readonly JsonMutator Json = new(new JsonWords(Fields, ["A", "B", "C", "D", "E", "Z", "a", "0", "1", "4", "-1", "_", "", "1.5", "true"]));

    public static byte[] Mutate(byte[] file, Random rng, IReadOnlyList<byte[]> otherSeeds)
    {
        var lines = Encoding.UTF8.GetString(file).Split('\n').Where(l => l.Length > 0).ToList();
        if (lines.Count == 0 || rng.Next(10) == 0) return ByteMutator.Mutate(file, rng);
        int rounds = 1 + rng.Next(3);
        for (int r = 0; r < rounds; r++)
        {
            int i = rng.Next(lines.Count);
            switch (rng.Next(10))
            {
                case 0: if (lines.Count > 1) lines.RemoveAt(i); break;
                case 1: lines.Insert(i, lines[i]); break;
                case 2:   // another layout's record in the middle of this file
                {
                    var other = Encoding.UTF8.GetString(otherSeeds[rng.Next(otherSeeds.Count)]).Split('\n').Where(l => l.Length > 0).ToList();
                    if (other.Count > 0) lines.Insert(i, other[rng.Next(other.Count)]);
                    break;
                }
                case 3: lines.Insert(i, new[] { "", "   ", "not json", "{", "[]", "null", "1", "\"x\"", "{}" }[rng.Next(9)]); break;
                default:
                    lines[i] = Encoding.UTF8.GetString(Json.Mutate(Encoding.UTF8.GetBytes(lines[i]), rng, Targeted, specialPercent: 60));
                    break;
            }
        }
        return Encoding.UTF8.GetBytes(string.Join('\n', lines) + (rng.Next(2) == 0 ? "\n" : ""));
    }

    /// <summary>Answers out of range or of the wrong kind, null or missing choices, choice lists of 0, 1 or 9+.</summary>
    static bool Targeted(JNode root, Random rng)
    {
        if (root is not JObject o) return false;
        switch (rng.Next(4))
        {
            case 0:
            {
                string key = new[] { "answer", "label", "answerKey" }[rng.Next(3)];
                if (o[key] == null) return false;
                o.Set(key, rng.Next(3) switch
                {
                    0 => JNode.Number(Interesting.Integer(rng, 3)),
                    1 => JNode.String(new[] { "E", "Z", "a", "-1", "99", "", "AB" }[rng.Next(7)]),
                    _ => new JRaw(new[] { "null", "1.5", "true", "[]", "{}" }[rng.Next(5)]),
                });
                return true;
            }
            case 1:   // a choice list element nulled, emptied, or the list resized
            {
                var lists = new[] { o["choices"], o["endings"], o["labels"], (o["choices"] as JObject)?["text"], (o["choices"] as JObject)?["label"] }.OfType<JArray>().ToList();
                if (lists.Count == 0) return false;
                var list = lists[rng.Next(lists.Count)];
                switch (rng.Next(4))
                {
                    case 0: if (list.Items.Count > 0) list.Items[rng.Next(list.Items.Count)] = new JRaw("null"); break;
                    case 1: list.Items.Clear(); break;
                    case 2: if (list.Items.Count > 1) list.Items.RemoveRange(1, list.Items.Count - 1); break;
                    default: while (list.Items.Count < 10) list.Items.Add(JNode.String($"extra {list.Items.Count}")); break;
                }
                return true;
            }
            case 2:   // a field removed or nulled
            {
                if (o.Props.Count == 0) return false;
                int i = rng.Next(o.Props.Count);
                if (rng.Next(2) == 0) o.Props.RemoveAt(i); else o.Props[i] = new(o.Props[i].Key, new JRaw("null"));
                return true;
            }
            default:  // a huge string (a question longer than any context)
            {
                var strings = o.Props.Where(p => p.Value is JRaw { IsString: true }).ToList();
                if (strings.Count == 0) return false;
                o.Set(strings[rng.Next(strings.Count)].Key, JNode.String(string.Concat(Enumerable.Repeat("very long question ", 1 << rng.Next(6, 16)))));
                return true;
            }
        }
    }
}
