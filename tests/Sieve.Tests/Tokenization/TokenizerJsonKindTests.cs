using System.Text;
using System.Text.Json.Nodes;
using Sieve.Formats;
using Sieve.Tokenization;

namespace Sieve.Tests.Tokenization;

/// <summary>
/// Every value the Hugging Face tokenizer loader reads, replaced by a value of every other JSON kind (and by
/// hostile numbers), either loads or is refused with a <see cref="ModelFileException"/> that names the file;
/// never another exception type, never a huge allocation.
/// </summary>
public class TokenizerJsonKindTests
{
    // A byte-level folder that touches every branch the loader reads: NFC in a Sequence, a Split + ByteLevel +
    // Digits chain, a TemplateProcessing post-processor, a decoder Sequence, pair-form merges, added tokens.
    const string ByteLevelJson = """
    {
      "added_tokens": [
        {"id": 3, "content": "<s>", "lstrip": false, "rstrip": false, "special": true},
        {"id": 4, "content": "<tag>", "lstrip": true, "rstrip": false, "special": false}
      ],
      "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}]},
      "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "[a-z]+"}, "behavior": "Isolated", "invert": false},
        {"type": "Split", "pattern": {"String": "-"}, "behavior": "Isolated", "invert": false},
        {"type": "Digits", "individual_digits": true},
        {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}
      ]},
      "post_processor": {"type": "Sequence", "processors": [
        {"type": "ByteLevel"},
        {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]}
      ]},
      "decoder": {"type": "Sequence", "decoders": [{"type": "ByteLevel"}]},
      "model": {"type": "BPE", "ignore_merges": false, "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]}
    }
    """;

    // A SentencePiece-style folder: Prepend + Replace normalizer, no pre-tokenizer, a ByteFallback decoder.
    const string SentencePieceJson = """
    {
      "added_tokens": [
        {"id": 0, "content": "<unk>", "special": true},
        {"id": 1, "content": "<s>", "special": true},
        {"id": 2, "content": "</s>", "special": true}
      ],
      "normalizer": {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "▁"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}
      ]},
      "pre_tokenizer": null,
      "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]},
      "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}]},
      "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>",
        "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x41>": 3, "▁": 4, "a": 5, "▁a": 6},
        "merges": ["▁ a"]}
    }
    """;

    const string MetaspaceJson = """
    {
      "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}]},
      "decoder": {"type": "Metaspace"},
      "model": {"type": "BPE", "byte_fallback": true, "vocab": {"<unk>": 0, "▁": 1, "a": 2, "▁a": 3}, "merges": ["▁ a"],
        "continuing_subword_prefix": "", "end_of_word_suffix": ""}
    }
    """;

    const string ConfigJson = """
    {
      "bos_token": {"content": "<s>", "lstrip": false},
      "eos_token": "<s>",
      "unk_token": null,
      "pad_token": "a",
      "add_bos_token": true,
      "add_eos_token": false,
      "add_prefix_space": false,
      "chat_template": [{"name": "default", "template": "{{ x }}"}, {"name": "tool_use", "template": "{{ y }}"}]
    }
    """;

    const string GenerationJson = """{"eos_token_id": [1, 2], "bos_token_id": 1}""";

    static readonly JsonNode?[] WrongValues =
    [
        null, JsonValue.Create(42), JsonValue.Create(-1), JsonValue.Create(int.MaxValue), JsonValue.Create(1e300),
        JsonValue.Create(1.5), JsonValue.Create("x"), JsonValue.Create(""), JsonValue.Create(" "), JsonValue.Create("a b"),
        JsonValue.Create("<s>"), JsonValue.Create(true), new JsonArray(),
        new JsonObject(), new JsonArray(JsonValue.Create(1)), new JsonObject { ["type"] = 5 },
    ];

    static string Folder(string tokenizerJson, string? config = ConfigJson, string? generation = GenerationJson)
    {
        string dir = Fixtures.TempDir();
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), tokenizerJson);
        if (config != null) File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config);
        if (generation != null) File.WriteAllText(Path.Combine(dir, "generation_config.json"), generation);
        return dir;
    }

    /// <summary>Every (path, replaceable node) of a JSON tree, the root excluded; paths read like "model.vocab.ab".</summary>
    static IEnumerable<(string Path, Action<JsonNode?> Replace)> Slots(JsonNode node, string path)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, child) in o.ToList())
                {
                    string p = path == "" ? name : path + "." + name;
                    yield return (p, v => o[name] = v);
                    if (child != null) foreach (var s in Slots(child, p)) yield return s;
                }
                break;
            case JsonArray a:
                for (int i = 0; i < a.Count; i++)
                {
                    int at = i;
                    string p = $"{path}[{i}]";
                    yield return (p, v => a[at] = v);
                    if (a[i] is { } child) foreach (var s in Slots(child, p)) yield return s;
                }
                break;
        }
    }

    static void LoadsOrIsRefused(string dir, string file, string what)
    {
        try
        {
            // What loads must also encode and decode without surprises.
            var tok = TokenizerFactory.FromHuggingFace(dir);
            var ids = tok.Encode("ab a-12 <s><tag> é", parseSpecial: true);
            Assert.All(ids, id => Assert.InRange(id, 0, tok.VocabSize - 1));
            tok.Decode(ids);
        }
        catch (ModelFileException e)
        {
            Assert.True(e.FilePath == Path.Combine(dir, file), $"{what}: the error names {e.FilePath}, not {file}: {e.Message}");
        }
        catch (Exception e)
        {
            Assert.Fail($"{what}: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>Every (path, rename) of an object key in a JSON tree: renaming a vocab entry changes a token's text.</summary>
    static IEnumerable<(string Path, Action<string> Rename)> Keys(JsonNode node, string path)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, child) in o.ToList())
                {
                    string p = path == "" ? name : path + "." + name;
                    yield return (p, n => { if (!o.ContainsKey(n)) { o.Remove(name); o[n] = child?.DeepClone(); } });
                    if (child != null) foreach (var k in Keys(child, p)) yield return k;
                }
                break;
            case JsonArray a:
                for (int i = 0; i < a.Count; i++)
                    if (a[i] is { } child) foreach (var k in Keys(child, $"{path}[{i}]")) yield return k;
                break;
        }
    }

    static readonly string[] WrongKeys = ["", " ", "a b", "<s>", "\u0000", "\u00e9", "Ġ", "▁▁", "<0x41>", "<0xZZ>"];

    /// <summary>Mutates every slot of one file of a good folder with every wrong value; the other files stay good.</summary>
    static int MutateEverySlot(string tokenizerJson, string file)
    {
        string original = file switch { "tokenizer.json" => tokenizerJson, "tokenizer_config.json" => ConfigJson, _ => GenerationJson };
        // The unmutated folder loads.
        TokenizerFactory.FromHuggingFace(Folder(tokenizerJson));
        var failures = new List<string>();
        int n = 0;
        int slots = Slots(JsonNode.Parse(original)!, "").Count();
        for (int s = 0; s < slots; s++)
        {
            foreach (var value in WrongValues)
            {
                var root = JsonNode.Parse(original)!;
                var (path, replace) = Slots(root, "").ElementAt(s);
                replace(value?.DeepClone());
                string text = root.ToJsonString();
                string dir = file switch
                {
                    "tokenizer.json" => Folder(text),
                    "tokenizer_config.json" => Folder(tokenizerJson, config: text),
                    _ => Folder(tokenizerJson, generation: text),
                };
                try { LoadsOrIsRefused(dir, file, $"{file} {path} = {value?.ToJsonString() ?? "null"}"); }
                catch (Xunit.Sdk.XunitException e) { failures.Add(e.Message); }
                n++;
            }
        }
        int keys = Keys(JsonNode.Parse(original)!, "").Count();
        for (int k = 0; k < keys; k++)
        {
            foreach (var name in WrongKeys)
            {
                var root = JsonNode.Parse(original)!;
                var (path, rename) = Keys(root, "").ElementAt(k);
                rename(System.Text.RegularExpressions.Regex.Unescape(name));
                string text = root.ToJsonString();
                string dir = file switch
                {
                    "tokenizer.json" => Folder(text),
                    "tokenizer_config.json" => Folder(tokenizerJson, config: text),
                    _ => Folder(tokenizerJson, generation: text),
                };
                try { LoadsOrIsRefused(dir, file, $"{file} key {path} renamed '{name}'"); }
                catch (Xunit.Sdk.XunitException e) { failures.Add(e.Message); }
                n++;
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {n} mutations escaped:\n" + string.Join("\n", failures.Take(40)));
        return n;
    }

    [Theory]
    [InlineData("bytelevel", "tokenizer.json")]
    [InlineData("bytelevel", "tokenizer_config.json")]
    [InlineData("bytelevel", "generation_config.json")]
    [InlineData("sentencepiece", "tokenizer.json")]
    [InlineData("sentencepiece", "tokenizer_config.json")]
    [InlineData("metaspace", "tokenizer.json")]
    public void EveryValueOfEveryWrongKindLoadsOrIsRefusedNamingTheFile(string style, string file)
    {
        string json = style switch { "bytelevel" => ByteLevelJson, "sentencepiece" => SentencePieceJson, _ => MetaspaceJson };
        Assert.True(MutateEverySlot(json, file) > 0);
    }

    static ModelFileException Refused(string dir, string file = "tokenizer.json")
    {
        var e = Assert.Throws<ModelFileException>(() => TokenizerFactory.FromHuggingFace(dir));
        Assert.Equal(Path.Combine(dir, file), e.FilePath);
        return e;
    }

    static string Replace(string json, string path, JsonNode? value)
    {
        var root = JsonNode.Parse(json)!;
        Slots(root, "").Single(s => s.Path == path).Replace(value);
        return root.ToJsonString();
    }

    [Theory]
    [InlineData("normalizer", "5", "key 'normalizer': expected an object, found a number")]
    [InlineData("normalizer.type", "5", "key 'normalizer.type': expected a string, found a number")]
    [InlineData("normalizer.normalizers", "{}", "key 'normalizer.normalizers': expected an array, found an object")]
    [InlineData("pre_tokenizer", "\"ByteLevel\"", "key 'pre_tokenizer': expected an object, found a string")]
    [InlineData("pre_tokenizer.pretokenizers[0].pattern", "[]", "key 'pre_tokenizer.pretokenizers[0].pattern': expected an object, found an array")]
    [InlineData("pre_tokenizer.pretokenizers[3].add_prefix_space", "\"no\"", "key 'pre_tokenizer.pretokenizers[3].add_prefix_space': expected true or false, found a string")]
    [InlineData("decoder.type", "[]", "key 'decoder.type': expected a string, found an array")]
    [InlineData("decoder.decoders[0]", "7", "key 'decoder.decoders[0]': expected an object, found a number")]
    [InlineData("post_processor.processors[1].single[0]", "1", "key 'post_processor.processors[1].single[0]': expected an object, found a number")]
    [InlineData("post_processor.processors[1].single[0].SpecialToken.id", "0", "key 'post_processor.processors[1].single[0].SpecialToken.id': expected a string, found a number")]
    [InlineData("model.type", "true", "key 'model.type': expected a string, found true")]
    [InlineData("model.vocab.ab", "\"2\"", "key 'model.vocab.ab': expected an integer id")]
    [InlineData("model.merges[0]", "[\"a\"]", "key 'model.merges[0]'")]
    [InlineData("added_tokens", "{}", "key 'added_tokens': expected an array, found an object")]
    [InlineData("added_tokens[0]", "\"<s>\"", "key 'added_tokens[0]': expected an object, found a string")]
    [InlineData("added_tokens[0].id", "\"3\"", "key 'added_tokens[0].id': expected an integer id")]
    [InlineData("added_tokens[0].content", "3", "key 'added_tokens[0].content': expected a string, found a number")]
    [InlineData("added_tokens[1].lstrip", "1", "key 'added_tokens[1].lstrip': expected true or false, found a number")]
    public void AWrongKindIsRefusedNamingTheKey(string path, string value, string problem)
    {
        var e = Refused(Folder(Replace(ByteLevelJson, path, JsonNode.Parse(value))));
        Assert.Contains(problem, e.Problem);
    }

    [Theory]
    [InlineData("bos_token", "5", "key 'bos_token': expected a string or an object with 'content', found a number")]
    [InlineData("bos_token.content", "[]", "key 'bos_token.content': expected a string, found an array")]
    [InlineData("add_bos_token", "\"yes\"", "key 'add_bos_token': expected true or false, found a string")]
    [InlineData("chat_template", "5", "key 'chat_template': expected a string or an array, found a number")]
    [InlineData("chat_template[0]", "\"t\"", "key 'chat_template[0]': expected an object, found a string")]
    [InlineData("chat_template[0].name", "5", "key 'chat_template[0].name': expected a string, found a number")]
    public void AWrongKindInTokenizerConfigIsRefusedNamingTheKey(string path, string value, string problem)
    {
        var e = Refused(Folder(ByteLevelJson, config: Replace(ConfigJson, path, JsonNode.Parse(value))), "tokenizer_config.json");
        Assert.Contains(problem, e.Problem);
    }

    [Fact]
    public void ANonObjectTokenizerConfigIsRefused()
    {
        Assert.Contains("expected an object, found an array", Refused(Folder(ByteLevelJson, config: "[1]"), "tokenizer_config.json").Problem);
        Assert.Contains("expected an object, found a string", Refused(Folder(ByteLevelJson, generation: "\"x\""), "generation_config.json").Problem);
    }

    [Theory]
    [InlineData("model.vocab.ab")]
    [InlineData("added_tokens[0].id")]
    [InlineData("added_tokens[1].id")]
    public void AnIdOfIntMaxOrFarBeyondTheTokenCountIsRefusedBeforeAllocating(string path)
    {
        foreach (long id in new[] { int.MaxValue, int.MaxValue - 1, 1L << 30, 100_000 })
        {
            var e = Refused(Folder(Replace(ByteLevelJson, path, JsonValue.Create(id))));
            Assert.Contains($"key '{path}'", e.Problem);
            Assert.Contains($"id {id}", e.Problem);
        }
        foreach (long id in new[] { int.MaxValue + 1L, long.MaxValue, -1, -2147483648 })
            Assert.Contains($"key '{path}'", Refused(Folder(Replace(ByteLevelJson, path, JsonValue.Create(id)))).Problem);
    }

    [Fact]
    public void ASentencePieceStyleIdOfIntMaxIsRefused()
    {
        var e = Refused(Folder(Replace(SentencePieceJson, "model.vocab.a", JsonValue.Create(int.MaxValue)), config: null, generation: null));
        Assert.Contains("key 'model.vocab.a'", e.Problem);
    }

    [Fact]
    public void TwoAddedTokensWithOneIdAndDifferentTextsAreRefused()
    {
        var e = Refused(Folder(Replace(ByteLevelJson, "added_tokens[1].id", JsonValue.Create(3))));
        Assert.Contains("key 'added_tokens[1].id'", e.Problem);
        Assert.Contains("'<s>'", e.Problem);
    }

    static byte[] WithBytes(string json, string marker, byte[] bytes)
    {
        var utf8 = Encoding.UTF8.GetBytes(json);
        var m = Encoding.UTF8.GetBytes(marker);
        int at = utf8.AsSpan().IndexOf(m);
        Assert.True(at >= 0);
        return [.. utf8[..at], .. bytes, .. utf8[(at + m.Length)..]];
    }

    [Theory]
    [InlineData("\"ab\": 2", new byte[] { (byte)'"', (byte)'a', 0xFF, (byte)'"', (byte)':', (byte)' ', (byte)'2' })]       // a vocab key
    [InlineData("\"<tag>\"", new byte[] { (byte)'"', 0xC3, (byte)'"' })]                                                       // an added token
    [InlineData("\"[a-z]+\"", new byte[] { (byte)'"', 0xED, 0xA0, 0x80, (byte)'"' })]                                             // an encoded surrogate in a regex
    public void InvalidUtf8InsideAStringIsRefused(string marker, byte[] bytes)
    {
        string dir = Folder(ByteLevelJson);
        File.WriteAllBytes(Path.Combine(dir, "tokenizer.json"), WithBytes(ByteLevelJson, marker, bytes));
        Assert.Contains("not valid UTF-8", Refused(dir).Problem);
    }

    [Theory]
    [InlineData("\"ab\": 2", "\"a\\ud800\": 2", "model.vocab")]
    [InlineData("\"<tag>\"", "\"\\udc00\"", "added_tokens[1].content")]
    public void ALoneSurrogateEscapeIsRefusedNamingTheKey(string marker, string replacement, string key)
    {
        string dir = Folder(ByteLevelJson.Replace(marker, replacement));
        Assert.Contains($"key '{key}", Refused(dir).Problem);
    }

    [Fact]
    public void InvalidUtf8InTokenizerConfigIsRefused()
    {
        string dir = Folder(ByteLevelJson);
        File.WriteAllBytes(Path.Combine(dir, "tokenizer_config.json"), WithBytes(ConfigJson, "\"a\"", [(byte)'"', 0xFE, (byte)'"']));
        Assert.Contains("not valid UTF-8", Refused(dir, "tokenizer_config.json").Problem);
    }

    [Fact]
    public void TheBaseFoldersLoadAndEncode()
    {
        var bl = TokenizerFactory.FromHuggingFace(Folder(ByteLevelJson));
        Assert.Equal([3, 2], bl.Encode("ab"));   // BOS from the template, then the merge
        var spm = TokenizerFactory.FromHuggingFace(Folder(SentencePieceJson, config: null, generation: null));
        Assert.Equal([1, 6], spm.Encode("a"));
        var ms = TokenizerFactory.FromHuggingFace(Folder(MetaspaceJson, config: null, generation: null));
        Assert.Equal([3], ms.Encode("a").Where(t => t != ms.BosId));
    }
}
