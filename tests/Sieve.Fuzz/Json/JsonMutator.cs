using System.Globalization;
using Sieve.Fuzz.Mutators;

namespace Sieve.Fuzz.Json;

/// <summary>Words a format's files use, so mutations produce keys and values its loader actually looks at.</summary>
public sealed record JsonWords(string[] Keys, string[] Strings);

/// <summary>
/// JSON-aware mutations on a <see cref="JNode"/> tree: a value replaced by one of another kind, keys deleted,
/// duplicated or added, numbers pushed to their limits (and past any 64-bit type, and NaN/Infinity tokens), strings
/// replaced by the format's own words, empty, huge or broken ones, deep nesting, subtrees spliced elsewhere. A share
/// of the results also get byte-level damage (invalid UTF-8, truncation).
/// </summary>
public sealed class JsonMutator(JsonWords words)
{
    /// <param name="special">A format's own mutation (vocabulary ids, safetensors offsets); returns false when it did nothing.</param>
    public byte[] Mutate(byte[] json, Random rng, Func<JNode, Random, bool>? special = null, int specialPercent = 50)
    {
        JNode root;
        try { root = JNode.Parse(json); }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)   // invalid UTF-8 surfaces late, on reading a string
        {
            return ByteMutator.Mutate(json, rng);
        }
        int rounds = 1 + rng.Next(3);
        for (int r = 0; r < rounds; r++)
        {
            if (special != null && rng.Next(100) < specialPercent && special(root, rng)) continue;
            MutateTree(root, rng);
        }
        var bytes = root.ToBytes();
        return rng.Next(10) == 0 ? ByteMutator.Mutate(bytes, rng, 1) : bytes;
    }

    public void MutateTree(JNode root, Random rng)
    {
        var all = JSlot.All(root);
        if (all.Count == 0)
        {
            if (root is JObject o) o.Props.Add(new(Key(rng), RandomValue(rng)));
            else if (root is JArray a) a.Items.Add(RandomValue(rng));
            return;
        }
        var slot = all[rng.Next(all.Count)];
        switch (rng.Next(10))
        {
            case 0:
            case 1:
                slot.Replace(RandomValue(rng));
                break;
            case 2:
                slot.Remove();
                break;
            case 3:   // duplicate a key (JSON allows it; loaders differ on which copy wins) or an array element
                if (slot.Parent is JObject o) o.Props.Insert(slot.Index + rng.Next(2), new(o.Props[slot.Index].Key, rng.Next(2) == 0 ? slot.Node.Clone() : RandomValue(rng)));
                else if (slot.Parent is JArray a) a.Items.Insert(slot.Index, slot.Node.Clone());
                break;
            case 4:   // add a key the format knows, somewhere
            {
                var objects = all.Select(s => s.Node).OfType<JObject>().Prepend(root as JObject).Where(o => o != null).ToList();
                if (objects.Count > 0) objects[rng.Next(objects.Count)]!.Props.Add(new(Key(rng), RandomValue(rng)));
                break;
            }
            case 5:
            case 6:
                if (slot.Node is JRaw raw) TweakScalar(raw, rng);
                else slot.Replace(RandomValue(rng));
                break;
            case 7:   // splice another subtree here
                slot.Replace(all[rng.Next(all.Count)].Node.Clone());
                break;
            case 8:   // array surgery: empty, truncate, repeat, reverse
                if (slot.Node is JArray arr && arr.Items.Count > 0)
                {
                    switch (rng.Next(4))
                    {
                        case 0: arr.Items.Clear(); break;
                        case 1: { int keep = rng.Next(arr.Items.Count); arr.Items.RemoveRange(keep, arr.Items.Count - keep); break; }
                        case 2: arr.Items.AddRange(arr.Items.Take(1 + rng.Next(arr.Items.Count)).Select(i => i.Clone()).ToList()); break;
                        default: arr.Items.Reverse(); break;
                    }
                }
                else slot.Replace(new JArray([slot.Node]));
                break;
            default:  // rename a key
                if (slot.Parent is JObject po) po.Props[slot.Index] = new(Key(rng), slot.Node);
                else slot.Remove();
                break;
        }
    }

    string Key(Random rng) => rng.Next(8) == 0 ? RandomText(rng) : words.Keys[rng.Next(words.Keys.Length)];

    /// <summary>A number pushed to a limit, or a string to a word, an empty, huge or broken one; sometimes a new kind.</summary>
    public void TweakScalar(JRaw raw, Random rng)
    {
        if (raw.IsNumber && rng.Next(4) != 0)
        {
            long.TryParse(raw.Text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n);
            raw.Text = rng.Next(4) == 0 ? FloatText(rng) : Interesting.IntegerText(rng, n);
        }
        else if (raw.IsString && rng.Next(4) != 0) raw.Text = StringValue(rng).Text;
        else raw.Text = ((JRaw)Scalar(rng)).Text;
    }

    public JNode RandomValue(Random rng, int depth = 0)
    {
        int pick = rng.Next(depth > 2 ? 6 : 9);
        return pick switch
        {
            < 6 => Scalar(rng),
            6 => new JArray(Enumerable.Range(0, rng.Next(4)).Select(_ => RandomValue(rng, depth + 1)).ToList()),
            7 => new JObject(Enumerable.Range(0, rng.Next(4)).Select(_ => new KeyValuePair<string, JNode>(Key(rng), RandomValue(rng, depth + 1))).ToList()),
            _ => DeepNesting(rng),
        };
    }

    JNode Scalar(Random rng) => rng.Next(7) switch
    {
        0 => new JRaw("null"),
        1 => new JRaw(rng.Next(2) == 0 ? "true" : "false"),
        2 => new JRaw(Interesting.IntegerText(rng, 0)),
        3 => new JRaw(FloatText(rng)),
        _ => StringValue(rng),
    };

    static string FloatText(Random rng) => rng.Next(6) switch
    {
        0 => "NaN",
        1 => "-Infinity",
        2 => "1e400",
        3 => "-0.0",
        4 => "0.5",
        _ => Interesting.Float(rng) is var d && double.IsFinite(d) ? d.ToString("R", CultureInfo.InvariantCulture) : "Infinity",
    };

    public JRaw StringValue(Random rng) => rng.Next(12) switch
    {
        0 => JNode.String(""),
        1 => JNode.String(new string('a', 1 << rng.Next(8, 21))),                        // up to 1 MiB
        2 => new JRaw("\"\\ud800x\""),                                                  // a lone surrogate escape
        3 => JNode.String("\0\u0001\u001b[31m\n\t"),
        4 => JNode.String(RandomText(rng)),
        5 => JNode.String("NaN"),
        _ => JNode.String(words.Strings[rng.Next(words.Strings.Length)]),
    };

    static string RandomText(Random rng)
    {
        var chars = new char[rng.Next(1, 12)];
        for (int i = 0; i < chars.Length; i++) chars[i] = rng.Next(4) == 0 ? (char)rng.Next(0x80, 0x3000) : (char)rng.Next(0x20, 0x7F);
        return new string(chars);
    }

    /// <summary>Arrays or objects nested past any parser's default depth limit (System.Text.Json's is 64).</summary>
    static JRaw DeepNesting(Random rng)
    {
        int depth = rng.Next(2) == 0 ? 65 + rng.Next(64) : 10_000;
        return rng.Next(2) == 0
            ? new JRaw(new string('[', depth) + new string(']', depth))
            : new JRaw(string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth));
    }
}
