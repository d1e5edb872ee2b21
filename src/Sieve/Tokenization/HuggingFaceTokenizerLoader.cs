using System.Text.Json;
using System.Text.RegularExpressions;
using Sieve.Formats;

namespace Sieve.Tokenization;

/// <summary>
/// Reads a Hugging Face tokenizer folder: <c>tokenizer.json</c> (a byte-level BPE model, or a SentencePiece-style
/// BPE model as Llama 2 / Mistral / TinyLlama ship it, see HuggingFaceTokenizerLoader.SentencePiece.cs; its added tokens,
/// normalizer and pre-tokenizer), <c>tokenizer_config.json</c> (BOS/EOS, add_bos/add_eos, chat template) and,
/// when present, <c>generation_config.json</c> (extra end-of-generation ids). Added tokens become control tokens
/// when marked special and user-defined otherwise, as llama.cpp's converter records them.
/// </summary>
static partial class HuggingFaceTokenizerLoader
{
    public static TextTokenizer Load(string folder)
    {
        string path = Path.Combine(folder, "tokenizer.json");
        if (!File.Exists(path)) throw new ModelFileException(path, "file not found");
        using var doc = ParseJson(path);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new ModelFileException(path, "is not a JSON object");
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new ModelFileException(path, "has no 'model' object");
        string type = model.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "BPE";
        if (type != "BPE") throw new ModelFileException(path, $"model type '{type}' is not supported (BPE is)");

        if (IsSentencePieceStyle(root, model)) return LoadSentencePieceStyle(folder, path, root, model);

        var (patterns, addPrefixSpace, byteLevel) = ReadPreTokenizer(path, root.TryGetProperty("pre_tokenizer", out var pt) ? pt : default);
        if (!byteLevel && !(root.TryGetProperty("decoder", out var dec) && Mentions(dec, "ByteLevel")))
            throw new ModelFileException(path, "is not a byte-level BPE tokenizer (no ByteLevel pre-tokenizer or decoder) and not a SentencePiece-style one either (no byte_fallback, Metaspace pre-tokenizer, Prepend/Replace normalizer or ByteFallback decoder)");
        bool nfc = ReadNormalizer(path, root.TryGetProperty("normalizer", out var norm) ? norm : default);

        var (tokens, types) = ReadVocabulary(path, model, root);
        var merges = ReadMerges(path, model);
        var vocab = new Vocabulary(path, tokens, null, types);
        ReadAddedTokenStrips(root, vocab);

        var config = ReadOptionalJson(Path.Combine(folder, "tokenizer_config.json"));
        var generation = ReadOptionalJson(Path.Combine(folder, "generation_config.json"));
        try
        {
            var cfg = config?.RootElement;
            int bos = TokenId(cfg, "bos_token", vocab), eos = TokenId(cfg, "eos_token", vocab);
            int unk = TokenId(cfg, "unk_token", vocab), pad = TokenId(cfg, "pad_token", vocab);
            bool? addBos = Bool(cfg, "add_bos_token"), addEos = Bool(cfg, "add_eos_token");
            // Without add_bos_token, a TemplateProcessing post-processor that starts with a special token (Llama 3's
            // "<|begin_of_text|> $A") is how tokenizer.json says "add BOS".
            int templateBos = TemplateLeadingToken(root, vocab);
            if (addBos is null && templateBos >= 0) { addBos = true; if (bos < 0) bos = templateBos; }

            string pre = PreTokenizer.NameFor(patterns);
            // A known chain is used in llama.cpp's spelling, so GGUF written from this folder tokenizes the same.
            IReadOnlyList<string> used = pre != "default" ? PreTokenizer.PatternsFor(pre)! : patterns;
            bool ignoreMerges = model.TryGetProperty("ignore_merges", out var im) && im.ValueKind == JsonValueKind.True;
            return new ByteLevelBpeTextTokenizer(path, vocab, merges, pre, new PreTokenizer(used))
            {
                BosId = bos,
                EosId = eos,
                UnknownId = unk,
                PaddingId = pad,
                AddBos = addBos ?? false,
                AddEos = addEos ?? false,
                IgnoreMerges = ignoreMerges,
                NormalizeNfc = nfc,
                AddPrefixSpace = addPrefixSpace,
                ChatTemplate = ChatTemplateOf(cfg),
                EndOfGenerationIds = EndOfGeneration.Find(vocab, eos, GenerationEosIds(generation?.RootElement, vocab.Count)),
            };
        }
        finally
        {
            config?.Dispose();
            generation?.Dispose();
        }
    }

    static JsonDocument ParseJson(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e) { throw new ModelFileException(path, $"is not valid JSON ({e.Message}): truncated or corrupt", e); }
    }

    static JsonDocument? ReadOptionalJson(string path) => File.Exists(path) ? ParseJson(path) : null;

    static (string[] Tokens, TokenType[] Types) ReadVocabulary(string path, JsonElement model, JsonElement root)
    {
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw new ModelFileException(path, "model has no 'vocab' object");
        var byId = new SortedDictionary<int, (string Text, TokenType Type)>();
        foreach (var entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw new ModelFileException(path, $"vocab entry '{entry.Name}' has id {entry.Value} (a non-negative integer is needed)");
            if (!byId.TryAdd(id, (entry.Name, TokenType.Normal)))
                throw new ModelFileException(path, $"vocab id {id} is given to both '{byId[id].Text}' and '{entry.Name}'");
        }
        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (var a in added.EnumerateArray())
            {
                if (!a.TryGetProperty("id", out var idEl) || !idEl.TryGetInt32(out int id) || id < 0
                    || !a.TryGetProperty("content", out var c) || c.ValueKind != JsonValueKind.String)
                    throw new ModelFileException(path, $"added token {a} needs a non-negative 'id' and a 'content' string");
                bool special = a.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
                byId[id] = (c.GetString()!, special ? TokenType.Control : TokenType.UserDefined);
            }
        }
        if (byId.Count == 0) throw new ModelFileException(path, "the vocabulary is empty");
        int count = byId.Keys.Max() + 1;
        if (count > 4 * byId.Count + 1024) throw new ModelFileException(path, $"token id {count - 1} is implausibly large for {byId.Count} tokens: corrupt file");
        var tokens = new string[count];
        var types = new TokenType[count];
        for (int i = 0; i < count; i++)
        {
            // Unassigned ids are padding, named as llama.cpp's converter names them.
            (tokens[i], types[i]) = byId.TryGetValue(i, out var v) ? v : ($"[PAD{i}]", TokenType.Unused);
        }
        return (tokens, types);
    }

    static string[] ReadMerges(string path, JsonElement model)
    {
        if (!model.TryGetProperty("merges", out var merges) || merges.ValueKind != JsonValueKind.Array)
            throw new ModelFileException(path, "model has no 'merges' list");
        var list = new List<string>(merges.GetArrayLength());
        foreach (var m in merges.EnumerateArray())
        {
            if (m.ValueKind == JsonValueKind.String) list.Add(m.GetString()!);
            else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2 && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String)
                list.Add(m[0].GetString() + " " + m[1].GetString());
            else throw new ModelFileException(path, $"merge {list.Count} is {m}, neither \"a b\" nor [\"a\", \"b\"]");
        }
        return list.ToArray();
    }

    static void ReadAddedTokenStrips(JsonElement root, Vocabulary vocab)
    {
        if (!root.TryGetProperty("added_tokens", out var added) || added.ValueKind != JsonValueKind.Array) return;
        foreach (var a in added.EnumerateArray())
        {
            int id = a.GetProperty("id").GetInt32();
            vocab.SetStrip(id, a.TryGetProperty("lstrip", out var l) && l.ValueKind == JsonValueKind.True,
                a.TryGetProperty("rstrip", out var r) && r.ValueKind == JsonValueKind.True);
        }
    }

    /// <summary>Pre-tokenizer → regex chain, ByteLevel add_prefix_space, and whether a ByteLevel step is present.</summary>
    static (List<string> Patterns, bool AddPrefixSpace, bool ByteLevel) ReadPreTokenizer(string path, JsonElement pt)
    {
        var patterns = new List<string>();
        bool prefix = false, byteLevel = false;
        void Visit(JsonElement e)
        {
            if (e.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null) return;
            string type = e.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
            switch (type)
            {
                case "Sequence":
                    foreach (var p in e.GetProperty("pretokenizers").EnumerateArray()) Visit(p);
                    break;
                case "ByteLevel":
                    byteLevel = true;
                    prefix |= e.TryGetProperty("add_prefix_space", out var aps) && aps.ValueKind == JsonValueKind.True;
                    if (!e.TryGetProperty("use_regex", out var ur) || ur.ValueKind != JsonValueKind.False)
                        patterns.Add(PreTokenizer.PatternsFor("gpt-2")![0]);
                    break;
                case "Split":
                    string behavior = e.TryGetProperty("behavior", out var b) ? b.GetString() ?? "" : "";
                    bool invert = e.TryGetProperty("invert", out var inv) && inv.ValueKind == JsonValueKind.True;
                    if (behavior != "Isolated" || invert)
                        throw new ModelFileException(path, $"Split pre-tokenizer with behavior '{behavior}'{(invert ? " inverted" : "")} is not supported (Isolated is)");
                    var pattern = e.GetProperty("pattern");
                    if (pattern.TryGetProperty("Regex", out var rx)) patterns.Add(rx.GetString()!);
                    else if (pattern.TryGetProperty("String", out var str)) patterns.Add(Regex.Escape(str.GetString()!));
                    else throw new ModelFileException(path, $"Split pattern {pattern} is neither Regex nor String");
                    break;
                case "Digits":
                    patterns.Add(e.TryGetProperty("individual_digits", out var d) && d.ValueKind == JsonValueKind.True ? @"\p{N}" : @"\p{N}+");
                    break;
                default:
                    throw new ModelFileException(path, $"pre-tokenizer '{type}' is not supported (ByteLevel, Split, Digits and Sequence are)");
            }
        }
        try { Visit(pt); }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException)
        {
            throw new ModelFileException(path, $"pre_tokenizer is malformed: {e.Message}", e);
        }
        foreach (var p in patterns)
        {
            try { _ = new Regex(p); }
            catch (ArgumentException e) { throw new ModelFileException(path, $"pre-tokenizer regex '{p}' is not usable: {e.Message}", e); }
        }
        return (patterns, prefix, byteLevel);
    }

    /// <summary>True when the normalizer is NFC; none is fine; anything else would change text in ways we do not reproduce.</summary>
    static bool ReadNormalizer(string path, JsonElement n)
    {
        if (n.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null) return false;
        string type = n.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
        if (type == "NFC") return true;
        if (type == "Sequence" && n.TryGetProperty("normalizers", out var list))
        {
            bool nfc = false;
            foreach (var x in list.EnumerateArray()) nfc |= ReadNormalizer(path, x);
            return nfc;
        }
        throw new ModelFileException(path, $"normalizer '{type}' is not supported (NFC is)");
    }

    static bool Mentions(JsonElement e, string type) => e.ValueKind == JsonValueKind.Object
        && ((e.TryGetProperty("type", out var t) && t.GetString() == type)
            || (e.TryGetProperty("decoders", out var list) && list.ValueKind == JsonValueKind.Array && list.EnumerateArray().Any(x => Mentions(x, type))));

    /// <summary>A special token named in tokenizer_config.json, as a string or as {"content": ...}.</summary>
    static int TokenId(JsonElement? cfg, string key, Vocabulary vocab)
    {
        if (cfg is not { } c || !c.TryGetProperty(key, out var v)) return -1;
        string? text = v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object when v.TryGetProperty("content", out var content) => content.GetString(),
            _ => null,
        };
        return text == null ? -1 : vocab.IdOf(text);
    }

    static bool? Bool(JsonElement? cfg, string key) => cfg is { } c && c.TryGetProperty(key, out var v)
        ? v.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => null } : null;

    static int TemplateLeadingToken(JsonElement root, Vocabulary vocab)
    {
        if (!root.TryGetProperty("post_processor", out var pp) || pp.ValueKind != JsonValueKind.Object) return -1;
        var candidates = pp.TryGetProperty("processors", out var list) && list.ValueKind == JsonValueKind.Array ? list.EnumerateArray().ToList() : [pp];
        foreach (var p in candidates)
        {
            if (!(p.TryGetProperty("type", out var t) && t.GetString() == "TemplateProcessing")) continue;
            if (!p.TryGetProperty("single", out var single) || single.ValueKind != JsonValueKind.Array || single.GetArrayLength() == 0) continue;
            if (single[0].TryGetProperty("SpecialToken", out var st) && st.TryGetProperty("id", out var id) && id.GetString() is { } text)
                return vocab.IdOf(text);
        }
        return -1;
    }

    /// <summary>chat_template as a string, or the "default" entry of a list of named templates.</summary>
    static string? ChatTemplateOf(JsonElement? cfg)
    {
        if (cfg is not { } c || !c.TryGetProperty("chat_template", out var v)) return null;
        if (v.ValueKind == JsonValueKind.String) return v.GetString();
        if (v.ValueKind != JsonValueKind.Array) return null;
        string? first = null;
        foreach (var e in v.EnumerateArray())
        {
            if (!e.TryGetProperty("template", out var tmpl) || tmpl.ValueKind != JsonValueKind.String) continue;
            first ??= tmpl.GetString();
            if (e.TryGetProperty("name", out var name) && name.GetString() == "default") return tmpl.GetString();
        }
        return first;
    }

    static int[] GenerationEosIds(JsonElement? gen, int vocabSize)
    {
        if (gen is not { } g || !g.TryGetProperty("eos_token_id", out var v)) return [];
        var ids = v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().ToList() : [v];
        return ids.Where(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out int i) && i >= 0 && i < vocabSize)
            .Select(x => x.GetInt32()).ToArray();
    }
}
