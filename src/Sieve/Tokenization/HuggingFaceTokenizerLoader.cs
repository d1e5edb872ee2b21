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
/// <remarks>
/// Every value is read through <see cref="JsonField"/>, which checks its kind and names the file and key when it
/// is wrong: these files come with downloaded models and are untrusted input.
/// </remarks>
static partial class HuggingFaceTokenizerLoader
{
    /// <summary>An entry of tokenizer.json's added_tokens list.</summary>
    sealed record AddedToken(int Id, string Content, bool Special, bool LStrip, bool RStrip);

    /// <param name="modelVocabSize">
    /// The model's embedding rows, when known. Added tokens with ids at or past it are left out, as llama.cpp's
    /// converter leaves them out: Gemma 3 1B's tokenizer.json carries &lt;image_soft_token&gt; (id 262,144) for the
    /// multimodal models, one past its 262,144 rows.
    /// </param>
    public static TextTokenizer Load(string folder, int? modelVocabSize = null)
    {
        string path = Path.Combine(folder, "tokenizer.json");
        if (!File.Exists(path)) throw new ModelFileException(path, "file not found");
        using var doc = JsonField.Parse(path);
        var root = JsonField.Root(path, doc);
        if (root.Kind != JsonValueKind.Object) throw new ModelFileException(path, "is not a JSON object");
        var model = root["model"];
        if (model.IsMissing) throw new ModelFileException(path, "has no 'model' object");
        model.Object();
        string type = model["type"].OptionalString() ?? "BPE";
        if (type != "BPE") throw model["type"].Bad($"model type '{type}' is not supported (BPE is)");

        if (IsSentencePieceStyle(root, model)) return LoadSentencePieceStyle(folder, path, root, model, modelVocabSize);

        var (patterns, addPrefixSpace, byteLevel) = ReadPreTokenizer(root["pre_tokenizer"]);
        bool byteLevelDecoder = ReadDecoder(root["decoder"]);
        if (!byteLevel && !byteLevelDecoder)
            throw new ModelFileException(path, "is not a byte-level BPE tokenizer (no ByteLevel pre-tokenizer or decoder) and not a SentencePiece-style one either (no byte_fallback, Metaspace pre-tokenizer, Prepend/Replace normalizer or ByteFallback decoder)");
        bool nfc = ReadNormalizer(root["normalizer"]);

        var (tokens, types, added) = ReadVocabulary(model, root, modelVocabSize);
        var merges = ReadMerges(model);
        bool ignoreMerges = model["ignore_merges"].Bool(false);
        var vocab = new Vocabulary(path, tokens, null, types);
        ApplyStrips(added, vocab);
        int templateBos = TemplateLeadingToken(root["post_processor"], vocab);

        string pre = PreTokenizer.NameFor(patterns);
        // A known chain is used in llama.cpp's spelling, so GGUF written from this folder tokenizes the same.
        IReadOnlyList<string> used = pre != "default" ? PreTokenizer.PatternsFor(pre)! : patterns;
        var preTokenizer = new PreTokenizer(used, path);

        using var config = ReadOptionalJson(Path.Combine(folder, "tokenizer_config.json"));
        using var generation = ReadOptionalJson(Path.Combine(folder, "generation_config.json"));
        var cfg = config;
        int bos = TokenId(cfg["bos_token"], vocab), eos = TokenId(cfg["eos_token"], vocab);
        int unk = TokenId(cfg["unk_token"], vocab), pad = TokenId(cfg["pad_token"], vocab);
        bool? addBos = cfg["add_bos_token"].OptionalBool(), addEos = cfg["add_eos_token"].OptionalBool();
        // Without add_bos_token, a TemplateProcessing post-processor that starts with a special token (Llama 3's
        // "<|begin_of_text|> $A") is how tokenizer.json says "add BOS".
        if (addBos is null && templateBos >= 0) { addBos = true; if (bos < 0) bos = templateBos; }

        return new ByteLevelBpeTextTokenizer(path, vocab, merges, pre, preTokenizer)
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
            ChatTemplate = ChatTemplateOf(cfg["chat_template"]),
            EndOfGenerationIds = EndOfGeneration.Find(vocab, eos, GenerationEosIds(generation["eos_token_id"], vocab.Count)),
        };
    }

    /// <summary>An optional side file (tokenizer_config.json, generation_config.json): its root object, or a missing value when the file is absent.</summary>
    sealed class OptionalJson(JsonDocument? doc, JsonField root) : IDisposable
    {
        public JsonField this[string name] => root[name];
        public void Dispose() => doc?.Dispose();
    }

    static OptionalJson ReadOptionalJson(string path)
    {
        // A broken link is not an absent file: ReadAllBytes names it ("symbolic link to … does not exist").
        if (!Sieve.Formats.ModelPath.FileOrLinkExists(path)) return new OptionalJson(null, new JsonField(path, "", default));
        var doc = JsonField.Parse(path);
        var root = JsonField.Root(path, doc);
        if (root.Kind != JsonValueKind.Object)
        {
            var e = root.Expected("an object");
            doc.Dispose();
            throw e;
        }
        return new OptionalJson(doc, root);
    }

    /// <summary>
    /// tokenizer.json's vocab plus its added_tokens, as arrays indexed by id. Ids must stay below a bound derived
    /// from the number of entries (4 × entries + 1024: real files leave at most a few padding ids), so a sparse
    /// huge id cannot make us allocate an array for it.
    /// </summary>
    static (string[] Tokens, TokenType[] Types, List<AddedToken> Added) ReadVocabulary(JsonField model, JsonField root, int? modelVocabSize)
    {
        var vocab = model["vocab"];
        if (vocab.IsMissing) throw new ModelFileException(model.File, "model has no 'vocab' object");
        var entries = vocab.Properties().ToList();
        var addedList = root["added_tokens"].Items(optional: true).ToList();
        long bound = 4L * (entries.Count + addedList.Count) + 1024;
        int CheckedId(JsonField f)
        {
            int id = f.Id();
            if (id >= bound)
                throw f.Bad($"id {id} is implausibly large for a file of {entries.Count + addedList.Count} tokens (ids must stay below {bound}): corrupt file");
            return id;
        }

        var byId = new Dictionary<int, (string Text, TokenType Type)>(entries.Count + addedList.Count);
        foreach (var (name, value) in entries)
        {
            int id = CheckedId(value);
            if (!byId.TryAdd(id, (name, TokenType.Normal)))
                throw value.Bad($"vocab id {id} is given to both '{byId[id].Text}' and '{name}'");
        }
        var added = new List<AddedToken>(addedList.Count);
        var addedIds = new Dictionary<int, string>();
        foreach (var a in addedList)
        {
            a.Object();
            int id = CheckedId(a["id"]);
            string content = a["content"].String();
            if (addedIds.TryGetValue(id, out var other) && other != content)
                throw a["id"].Bad($"added token '{content}' has id {id}, which is already the added token '{other}'");
            addedIds[id] = content;
            bool special = a["special"].Bool(false);
            if (id >= modelVocabSize && !byId.ContainsKey(id)) continue;   // past the model's rows: left out (see Load)
            added.Add(new AddedToken(id, content, special, a["lstrip"].Bool(false), a["rstrip"].Bool(false)));
            // An added token takes its id over from the vocab (Hugging Face lists most of them in both).
            byId[id] = (content, special ? TokenType.Control : TokenType.UserDefined);
        }
        if (byId.Count == 0) throw new ModelFileException(model.File, "the vocabulary is empty");
        int count = byId.Keys.Max() + 1;   // below bound, so no overflow and a bounded allocation
        var tokens = new string[count];
        var types = new TokenType[count];
        for (int i = 0; i < count; i++)
        {
            // Unassigned ids are padding, named as llama.cpp's converter names them.
            (tokens[i], types[i]) = byId.TryGetValue(i, out var v) ? v : ($"[PAD{i}]", TokenType.Unused);
        }
        return (tokens, types, added);
    }

    static void ApplyStrips(List<AddedToken> added, Vocabulary vocab)
    {
        foreach (var a in added) vocab.SetStrip(a.Id, a.LStrip, a.RStrip);
    }

    /// <summary>One merge as (left, right): Hugging Face's "a b" string or the newer ["a", "b"] pair.</summary>
    static (string Left, string Right) ReadMerge(JsonField m, int rank)
    {
        if (m.Kind == JsonValueKind.String)
        {
            // Exactly one space: the pieces of a byte-level or SentencePiece vocabulary hold 'Ġ' / '▁', never ' '.
            var parts = m.String().Split(' ');
            if (parts.Length != 2) throw m.Bad($"merge {rank} ('{m.String()}') is not two tokens separated by one space");
            return (parts[0], parts[1]);
        }
        if (m.Kind == JsonValueKind.Array && m.Length == 2)
        {
            var pair = m.Items().ToArray();
            return (pair[0].String(), pair[1].String());
        }
        throw m.Bad($"merge {rank} is {Shorten(m.Element.GetRawText())}, neither \"a b\" nor [\"a\", \"b\"]");
    }

    static string Shorten(string s) => s.Length <= 60 ? s : s[..60] + "…";

    static JsonField MergeList(JsonField model)
    {
        var merges = model["merges"];
        if (merges.IsMissing) throw new ModelFileException(model.File, "model has no 'merges' list");
        return merges;
    }

    static string[] ReadMerges(JsonField model)
    {
        var merges = MergeList(model);
        var list = new List<string>(merges.Length);
        foreach (var m in merges.Items())
        {
            // The byte-level path keeps the "a b" text; ByteLevelBpeTextTokenizer checks its shape.
            if (m.Kind == JsonValueKind.String) list.Add(m.String());
            else
            {
                var (a, b) = ReadMerge(m, list.Count);
                list.Add(a + " " + b);
            }
        }
        return list.ToArray();
    }

    /// <summary>
    /// Regex steps and pattern length allowed in a pre-tokenizer. Real chains have one to six steps (DeepSeek's is
    /// the longest we know) of at most a few KB each (character-range lists); each step is compiled at load, so an
    /// unbounded list of them would stall loading instead of encoding.
    /// </summary>
    const int MaxPreTokenizerSteps = 64, MaxPatternChars = 64 * 1024;

    /// <summary>Pre-tokenizer → regex chain, ByteLevel add_prefix_space, and whether a ByteLevel step is present.</summary>
    static (List<string> Patterns, bool AddPrefixSpace, bool ByteLevel) ReadPreTokenizer(JsonField pt)
    {
        var patterns = new List<string>();
        bool prefix = false, byteLevel = false;
        void Add(JsonField at, string pattern)
        {
            if (patterns.Count == MaxPreTokenizerSteps) throw at.Bad($"the pre-tokenizer has more than {MaxPreTokenizerSteps} regex steps; real ones have a handful");
            if (pattern.Length > MaxPatternChars) throw at.Bad($"a pre-tokenizer pattern of {pattern.Length} characters is not plausible (the limit is {MaxPatternChars})");
            patterns.Add(pattern);
        }
        void Visit(JsonField e)
        {
            if (e.IsMissing) return;
            e.Object();
            string type = e["type"].OptionalString() ?? "";
            switch (type)
            {
                case "Sequence":
                    foreach (var p in e["pretokenizers"].Items()) Visit(p);
                    break;
                case "ByteLevel":
                    byteLevel = true;
                    prefix |= e["add_prefix_space"].Bool(false);
                    if (e["use_regex"].Bool(true)) Add(e, PreTokenizer.PatternsFor("gpt-2")![0]);
                    break;
                case "Split":
                    string behavior = e["behavior"].OptionalString() ?? "";
                    bool invert = e["invert"].Bool(false);
                    if (behavior != "Isolated" || invert)
                        throw e.Bad($"Split pre-tokenizer with behavior '{behavior}'{(invert ? " inverted" : "")} is not supported (Isolated is)");
                    var pattern = e["pattern"].Object();
                    if (pattern["Regex"].OptionalString() is { } rx) Add(pattern["Regex"], rx);
                    else if (pattern["String"].OptionalString() is { } str) Add(pattern["String"], Regex.Escape(str));
                    else throw pattern.Bad($"Split pattern {Shorten(pattern.Element.GetRawText())} is neither Regex nor String");
                    break;
                case "Digits":
                    Add(e, e["individual_digits"].Bool(false) ? @"\p{N}" : @"\p{N}+");
                    break;
                default:
                    throw e.Bad($"pre-tokenizer '{type}' is not supported (ByteLevel, Split, Digits and Sequence are)");
            }
        }
        Visit(pt);
        return (patterns, prefix, byteLevel);
    }

    /// <summary>True when the normalizer is NFC; none is fine; anything else would change text in ways we do not reproduce.</summary>
    static bool ReadNormalizer(JsonField n)
    {
        if (n.IsMissing) return false;
        n.Object();
        string type = n["type"].OptionalString() ?? "";
        if (type == "NFC") return true;
        if (type == "Sequence")
        {
            bool nfc = false;
            foreach (var x in n["normalizers"].Items()) nfc |= ReadNormalizer(x);
            return nfc;
        }
        throw n.Bad($"normalizer '{type}' is not supported (NFC is)");
    }

    /// <summary>
    /// Checks the decoder's shape (an object with a string type, steps of a Sequence in "decoders") and says
    /// whether a ByteLevel step is among them. Decoding itself follows the model type, not this entry.
    /// </summary>
    static bool ReadDecoder(JsonField d)
    {
        if (d.IsMissing) return false;
        d.Object();
        bool byteLevel = d["type"].OptionalString() == "ByteLevel";
        foreach (var step in d["decoders"].Items(optional: true)) byteLevel |= ReadDecoder(step.Object());
        return byteLevel;
    }

    /// <summary>A special token named in tokenizer_config.json, as a string or as {"content": ...}; -1 when absent or not in the vocabulary.</summary>
    static int TokenId(JsonField v, Vocabulary vocab)
    {
        if (v.IsMissing) return -1;
        string text = v.Kind switch
        {
            JsonValueKind.String => v.String(),
            JsonValueKind.Object => v["content"].String(),
            _ => throw v.Expected("a string or an object with 'content'"),
        };
        return vocab.IdOf(text);
    }

    /// <summary>
    /// The special token a TemplateProcessing post-processor (alone or in a Sequence's "processors") puts first, or
    /// -1. Every entry's shape is checked, whichever one decides.
    /// </summary>
    static int TemplateLeadingToken(JsonField pp, Vocabulary vocab)
    {
        if (pp.IsMissing) return -1;
        pp.Object();
        var candidates = pp["processors"].IsMissing ? [pp] : pp["processors"].Items().Select(p => p.Object()).ToList();
        int found = -1;
        foreach (var p in candidates)
        {
            if (p["type"].OptionalString() != "TemplateProcessing") continue;
            var single = p["single"].Items(optional: true).Select(x => x.Object()).ToList();
            foreach (var piece in single)
            {
                piece["SpecialToken"].Object(optional: true)["id"].OptionalString();
                piece["Sequence"].Object(optional: true)["id"].OptionalString();
            }
            if (found < 0 && single.Count > 0 && single[0]["SpecialToken"]["id"].OptionalString() is { } text)
                found = vocab.IdOf(text);
        }
        return found;
    }

    /// <summary>chat_template as a string, or the "default" entry of a list of named templates (else the first).</summary>
    static string? ChatTemplateOf(JsonField v)
    {
        if (v.IsMissing) return null;
        if (v.Kind == JsonValueKind.String) return v.String();
        if (v.Kind != JsonValueKind.Array) throw v.Expected("a string or an array");
        string? first = null, named = null;
        foreach (var e in v.Items())
        {
            e.Object();
            string? name = e["name"].OptionalString();
            string? template = e["template"].OptionalString();
            if (template == null) continue;
            first ??= template;
            if (name == "default") named ??= template;
        }
        return named ?? first;
    }

    /// <summary>generation_config.json's eos_token_id (an id or a list of them); ids outside the vocabulary are left out.</summary>
    static int[] GenerationEosIds(JsonField v, int vocabSize)
    {
        if (v.IsMissing) return [];
        var ids = v.Kind == JsonValueKind.Array ? v.Items().ToList() : [v];
        var result = new List<int>();
        foreach (var x in ids)
        {
            if (x.Kind != JsonValueKind.Number || !x.Element.TryGetInt64(out long id)) throw x.Expected("an integer id");
            if (id >= 0 && id < vocabSize) result.Add((int)id);
        }
        return result.ToArray();
    }
}
