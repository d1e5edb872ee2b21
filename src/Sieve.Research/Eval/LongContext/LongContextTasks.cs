using System.Text;
using Sieve.Tokenization;

namespace Sieve.Eval.LongContext;

/// <summary>
/// Long-context tasks generated locally with RULER's templates and scoring (method notes §4), sized to a target
/// context in the evaluated model's own tokens: passkey retrieval (the Landmark/Quest version), niah_single_1,
/// niah_multikey_2, niah_multikey_3, variable tracking (vt) and frequent-words extraction (fwe). Prompts are not
/// byte-identical to RULER's (another tokenizer sizes them, and the word lists are ours), as the notes allow.
/// </summary>
public static class LongContextTasks
{
    public static readonly string[] Names = ["passkey", "niah_single_1", "niah_multikey_2", "niah_multikey_3", "vt", "fwe"];

    const string Noise = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";

    /// <summary>
    /// <paramref name="count"/> samples of <paramref name="task"/>, each with as much haystack as fits: the prompt's
    /// tokens plus the tokens to generate stay within <paramref name="contextTokens"/> (RULER's binary search).
    /// </summary>
    public static List<LongContextSample> Generate(string task, TextTokenizer tokenizer, int contextTokens, int count, int seed = 42)
    {
        Func<Random, int, int, LongContextSample> build = task switch
        {
            "passkey" => Passkey,
            "niah_single_1" => (rng, units, i) => Niah(task, rng, units, i, haystackNeedles: false, uuidKeys: false, uuidValues: false),
            "niah_multikey_2" => (rng, units, i) => Niah(task, rng, units, i, haystackNeedles: true, uuidKeys: false, uuidValues: false),
            "niah_multikey_3" => (rng, units, i) => Niah(task, rng, units, i, haystackNeedles: true, uuidKeys: true, uuidValues: true),
            "vt" => (rng, units, i) => VariableTracking(rng, units, i, contextTokens, example: true),
            "fwe" => (rng, units, i) => FrequentWords(rng, units, i, contextTokens),
            _ => throw new ArgumentException($"unknown long-context task '{task}' (known: {string.Join(", ", Names)})"),
        };
        int taskSeed = seed + 7919 * Array.IndexOf(Names, task);
        if (task == "vt")
        {
            // The solved example goes in only while the bare task takes at most half the context.
            var bare = VariableTracking(new Random(taskSeed), 0, 0, contextTokens, example: true);
            if (tokenizer.Encode(bare.Prompt).Length + bare.TokensToGenerate > contextTokens / 2)
                build = (rng, units, i) => VariableTracking(rng, units, i, contextTokens, example: false);
        }
        var samples = new List<LongContextSample>();
        for (int i = 0; i < count; i++)
        {
            LongContextSample Make(int units) => build(new Random(taskSeed + 1000 * i), units, i);
            bool Fits(int units) { var s = Make(units); return tokenizer.Encode(s.Prompt).Length + s.TokensToGenerate <= contextTokens; }
            // Units of haystack (noise lines, distractor needles, words); zero leaves the template and the needle alone.
            if (!Fits(0)) throw new ArgumentException($"{task}: a context of {contextTokens} tokens cannot hold even the task's template");
            int lo = 0, hi = 1;
            while (hi < 1 << 22 && Fits(hi)) { lo = hi; hi *= 2; }
            while (hi - lo > 1) { int mid = (lo + hi) / 2; if (Fits(mid)) lo = mid; else hi = mid; }
            samples.Add(Make(lo));
        }
        return samples;
    }

    /// <summary>Passkey: noise before and after "The pass key is K. Remember it. K is the pass key." at a random depth.</summary>
    static LongContextSample Passkey(Random rng, int units, int index)
    {
        int key = rng.Next(1, 50001), before = rng.Next(0, units + 1);
        string Garbage(int n) => string.Join(" ", Enumerable.Repeat(Noise, n));
        var context = string.Join("\n",
            "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz you about the important information there.",
            Garbage(before), $"The pass key is {key}. Remember it. {key} is the pass key.", Garbage(units - before));
        return new LongContextSample("passkey", index, context, "\nWhat is the pass key? The pass key is", [key.ToString()], 10, LongContextScoring.FirstInteger);
    }

    /// <summary>
    /// RULER's needle-in-a-haystack with one needle and one query: a noise haystack (niah_single_1), or one made of
    /// distractor needles with other keys (niah_multikey_2: word keys, number values; _3: UUIDs for both).
    /// </summary>
    static LongContextSample Niah(string task, Random rng, int units, int index, bool haystackNeedles, bool uuidKeys, bool uuidValues)
    {
        string typeV = uuidValues ? "uuid" : "number";   // singular: one query, one value
        string Key() => uuidKeys ? Uuid(rng) : $"{Pick(rng, WordLists.Adjectives)}-{Pick(rng, WordLists.Nouns)}";
        string Value() => uuidValues ? Uuid(rng) : rng.Next(1_000_000, 10_000_000).ToString();
        string Needle(string k, string v) => $"One of the special magic {typeV}s for {k} is: {v}.";
        string key = Key(), value = Value();
        var lines = new List<string>(units + 1);
        for (int u = 0; u < units; u++)
        {
            if (!haystackNeedles) { lines.Add(Noise); continue; }
            string k;
            do k = Key(); while (k == key);
            lines.Add(Needle(k, Value()));
        }
        lines.Insert(rng.Next(0, lines.Count + 1), Needle(key, value));
        var context = $"A special magic {typeV} is hidden within the following text. Make sure to memorize it. I will quiz you about the {typeV} afterwards.\n"
            + string.Join("\n", lines);
        var question = $"\nWhat is the special magic {typeV} for {key} mentioned in the provided text? The special magic {typeV} for {key} mentioned in the provided text is";
        return new LongContextSample(task, index, context, question, [value], 128, LongContextScoring.MatchAll);
    }

    /// <summary>
    /// Variable tracking: one chain of 4 hops (5 variables) hidden in noise, after one solved example (its chain in
    /// 5 noise lines; bare below 4K tokens, and left out where even that would take more than half the context).
    /// </summary>
    static LongContextSample VariableTracking(Random rng, int units, int index, int contextTokens, bool example)
    {
        var (exampleContext, exampleValue, exampleNames) = Chain(rng, contextTokens >= 4096 ? 5 : 0);
        var solved = example ? VtIntro + exampleContext + VtQuestion(exampleValue) + " " + string.Join(" ", exampleNames) + "\n\n" : "";
        var (context, value, names) = Chain(rng, units);
        return new LongContextSample("vt", index, solved + VtIntro + context, VtQuestion(value), names, 30, LongContextScoring.MatchAll);
    }

    const string VtIntro = "Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n";

    static string VtQuestion(int value) =>
        $"\nQuestion: Find all variables that are assigned the value {value} in the text above. Answer: According to the chain(s) of variable assignment in the text above, 5 variables are assigned the value {value}, they are: ";

    static (string Context, int Value, string[] Names) Chain(Random rng, int units)
    {
        var names = new HashSet<string>();
        while (names.Count < 5) names.Add(new string(Enumerable.Range(0, 5).Select(_ => (char)('A' + rng.Next(26))).ToArray()));
        var n = names.ToArray();
        int value = rng.Next(10000, 100000);
        var chain = new List<string> { $"VAR {n[0]} = {value}" };
        for (int i = 1; i < 5; i++) chain.Add($"VAR {n[i]} = VAR {n[i - 1]} ");
        var lines = Enumerable.Repeat(Noise, units).ToList();
        var at = Enumerable.Range(0, 5).Select(_ => rng.Next(0, units + 1)).Order().ToArray();
        for (int i = 4; i >= 0; i--) lines.Insert(at[i], chain[i]);   // from the back, so earlier indices stay valid and order is kept
        return (string.Join("\n", lines), value, n);
    }

    /// <summary>
    /// Frequent-words extraction: coded words with Zipf counts ⌊n·k^−2/ζ(2)⌋; the most frequent is "..." (noise),
    /// the answer the next three.
    /// </summary>
    static LongContextSample FrequentWords(Random rng, int units, int index, int contextTokens)
    {
        int vocabSize = Math.Max(5, (contextTokens - 50) / 50);
        var vocab = new List<string> { "..." };
        var seen = new HashSet<string>(vocab);
        while (vocab.Count < vocabSize)
        {
            var w = new string(Enumerable.Range(0, 6).Select(_ => (char)('a' + rng.Next(26))).ToArray());
            if (seen.Add(w)) vocab.Add(w);
        }
        double zeta = Math.PI * Math.PI / 6;
        var words = new List<string>();
        for (int k = 1; k <= vocabSize; k++)
            for (int c = 0; c < (int)(units * Math.Pow(k, -2.0) / zeta); c++) words.Add(vocab[k - 1]);
        var shuffled = words.OrderBy(_ => rng.Next()).ToList();
        var context = "Read the following coded text and track the frequency of each coded word. Find the three most frequently appeared coded words. "
            + string.Join(" ", shuffled);
        const string question = "\nQuestion: Do not provide any explanation. Please ignore the dots '....'. What are the three most frequently appeared words in the above coded text? Answer: According to the coded text above, the three most frequently appeared words are:";
        return new LongContextSample("fwe", index, context, question, vocab.Skip(1).Take(3).ToList(), 50, LongContextScoring.MatchAll);
    }

    static string Pick(Random rng, string[] list) => list[rng.Next(list.Length)];

    static string Uuid(Random rng)
    {
        var b = new byte[16];
        rng.NextBytes(b);
        b[6] = (byte)((b[6] & 0x0F) | 0x40);   // version 4
        b[8] = (byte)((b[8] & 0x3F) | 0x80);   // RFC 4122 variant
        var hex = Convert.ToHexStringLower(b);
        return $"{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..]}";
    }
}
