namespace Sieve.Tests.Tokenization;

/// <summary>
/// llama.cpp's tokenizer test vectors (tests/fixtures/llamacpp-vocab/PROVENANCE.md): strings separated by
/// "\n__ggml_vocab_test__\n" in X.gguf.inp, one line of ids per string in X.gguf.out, encoded with
/// add_special = false and parse_special = false.
/// </summary>
static class LlamaCppVectors
{
    const string Separator = "\n__ggml_vocab_test__\n";

    public static IReadOnlyList<(string Text, int[] Ids)> Load(string vocabName)
    {
        string gguf = Fixtures.Vocab(vocabName);
        var inputs = File.ReadAllText(gguf + ".inp").Split(Separator);
        var outputs = File.ReadAllLines(gguf + ".out");
        // The input file ends with a separator, so the last split is empty and is not a case.
        Assert.Equal("", inputs[^1]);
        Assert.Equal(inputs.Length - 1, outputs.Length);
        return inputs[..^1].Select((text, i) => (text, outputs[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray())).ToList();
    }

    /// <summary>Checks every case and reports all mismatches at once.</summary>
    public static void AssertAll(string vocabName, Func<string, int[]> encode)
    {
        var cases = Load(vocabName);
        Assert.Equal(46, cases.Count);
        var failures = new List<string>();
        foreach (var (text, want) in cases)
        {
            var got = encode(text);
            if (!got.SequenceEqual(want))
                failures.Add($"{Show(text)}\n  want {string.Join(' ', want)}\n  got  {string.Join(' ', got)}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} {vocabName} vectors differ:\n" + string.Join('\n', failures));
    }

    static string Show(string s) => "\"" + (s.Length > 60 ? s[..60] + "…" : s).Replace("\n", "\\n").Replace("\t", "\\t") + "\"";
}
