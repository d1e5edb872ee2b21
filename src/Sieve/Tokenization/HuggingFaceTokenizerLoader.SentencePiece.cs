using System.Text.Json;
using Sieve.Formats;

namespace Sieve.Tokenization;

/// <summary>
/// The SentencePiece-style <c>tokenizer.json</c> that Hugging Face ships for Llama 2, Mistral, TinyLlama and other
/// SentencePiece BPE models (what transformers' LlamaConverter writes): <c>model.type = "BPE"</c> with
/// <c>byte_fallback: true</c>, '▁' (U+2581) for a space, either a Metaspace pre-tokenizer or a Prepend("▁") +
/// Replace(" " → "▁") normalizer, merges ranked by piece score, and &lt;unk&gt;/&lt;s&gt;/&lt;/s&gt; as added special
/// tokens. It is mapped onto <see cref="SentencePieceTextTokenizer"/>, so it encodes as llama.cpp's SPM tokenizer
/// does for the same vocabulary.
/// </summary>
static partial class HuggingFaceTokenizerLoader
{
    const string SpaceMark = "▁";

    /// <summary>
    /// Score for a vocabulary entry that no merge produces (byte tokens, added tokens, single characters, and any
    /// piece the merges never reach): below every merge score, see <see cref="MergeScores"/>.
    /// </summary>
    internal const float UnmergedScore = -1e30f;

    /// <summary>
    /// SentencePiece-style: nothing byte-level anywhere, and at least one of the SentencePiece markers (byte
    /// fallback, a Metaspace step, a Prepend/Replace normalizer, a ByteFallback decoder). A probe: it never throws,
    /// whatever the kinds; the reader chosen then checks them.
    /// </summary>
    static bool IsSentencePieceStyle(JsonField root, JsonField model)
    {
        var pre = root["pre_tokenizer"].Element;
        var dec = root["decoder"].Element;
        var norm = root["normalizer"].Element;
        if (HasStep(pre, "ByteLevel") || HasStep(dec, "ByteLevel")) return false;
        bool byteFallback = model.Element.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True;
        return byteFallback || HasStep(pre, "Metaspace") || HasStep(norm, "Prepend") || HasStep(norm, "Replace")
            || HasStep(dec, "ByteFallback") || HasStep(dec, "Metaspace");
    }

    /// <summary>Whether a normalizer/pre-tokenizer/decoder, or any step of a Sequence of them, has this type (never throws).</summary>
    static bool HasStep(JsonElement e, string type)
    {
        if (e.ValueKind != JsonValueKind.Object) return false;
        if (JsonField.HasType(e, type)) return true;
        foreach (var p in e.EnumerateObject())
            if (p.Value.ValueKind == JsonValueKind.Array && p.Value.EnumerateArray().Any(x => HasStep(x, type))) return true;
        return false;
    }

    static TextTokenizer LoadSentencePieceStyle(string folder, string path, JsonField root, JsonField model, int? modelVocabSize)
    {
        bool prependNormalizer = false, replaceNormalizer = false;
        ReadSpmNormalizer(root["normalizer"], ref prependNormalizer, ref replaceNormalizer);
        bool? metaspacePrefix = ReadSpmPreTokenizer(root["pre_tokenizer"], replaceNormalizer);
        if (metaspacePrefix is null && !replaceNormalizer)
            throw new ModelFileException(path, "nothing turns ' ' into '▁' (neither a Metaspace pre-tokenizer nor a Replace normalizer), so spaces could never match the vocabulary's '▁' pieces");
        if (metaspacePrefix is not null && prependNormalizer)
            throw new ModelFileException(path, "both the normalizer (Prepend) and the Metaspace pre-tokenizer add '▁'; a doubled dummy prefix is not supported");
        CheckSpmModel(model);
        ReadDecoder(root["decoder"]);

        var (tokens, types, added) = ReadVocabulary(model, root, modelVocabSize);
        // Spelled-out bytes become byte tokens, as in SentencePiece's own model (only entries of the BPE vocabulary;
        // an added token is whatever the added_tokens list says it is).
        for (int i = 0; i < tokens.Length; i++)
            if (types[i] == TokenType.Normal && SentencePieceTextTokenizer.TryParseByteToken(tokens[i], out _)) types[i] = TokenType.Byte;
        // A non-special added token spelled with '▁' (Gemma 3's "▁▁" … "▁"×31, ids 138-167) stands for spaces:
        // Hugging Face's decoder turns its '▁' into ' ' like any piece's, and only merges ever produce it from
        // text (the raw input has ' ', never '▁'). As a user-defined token it would print as "▁▁", so it is kept
        // as a normal piece (llama.cpp's converter instead rewrites its text to real spaces).
        for (int i = 0; i < tokens.Length; i++)
            if (types[i] == TokenType.UserDefined && tokens[i].Contains(SpaceMark, StringComparison.Ordinal)) types[i] = TokenType.Normal;

        var ids = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        for (int i = 0; i < tokens.Length; i++) ids.TryAdd(tokens[i], i);
        int IdOf(string text) => ids.TryGetValue(text, out int id) ? id : -1;
        string? modelUnk = model["unk_token"].OptionalString();
        int unk = modelUnk != null ? IdOf(modelUnk) : -1;
        if (unk < 0) unk = IdOf("<unk>");
        // llama.cpp's SentencePiece vocabularies mark <unk> as Unknown, not Control; either way it prints nothing.
        if (unk >= 0) types[unk] = TokenType.Unknown;

        var scores = MergeScores(model, ids, tokens.Length);
        var vocab = new Vocabulary(path, tokens, scores, types);
        ApplyStrips(added, vocab);
        int templateBos = TemplateLeadingToken(root["post_processor"], vocab);

        using var config = ReadOptionalJson(Path.Combine(folder, "tokenizer_config.json"));
        using var generation = ReadOptionalJson(Path.Combine(folder, "generation_config.json"));
        var cfg = config;
        int bos = TokenId(cfg["bos_token"], vocab), eos = TokenId(cfg["eos_token"], vocab);
        int cfgUnk = TokenId(cfg["unk_token"], vocab);
        if (cfgUnk >= 0) unk = cfgUnk;
        int pad = TokenId(cfg["pad_token"], vocab);
        if (bos < 0) bos = templateBos >= 0 ? templateBos : vocab.IdOf("<s>");
        if (eos < 0) eos = vocab.IdOf("</s>");
        // add_bos_token from tokenizer_config.json; else whether a TemplateProcessing post-processor starts with
        // a special token ("<s> $A"); with neither, SentencePiece's default (llama.cpp's too): add BOS.
        bool addBos = cfg["add_bos_token"].OptionalBool() ?? (HasTemplateProcessing(root) ? templateBos >= 0 : true);
        bool addEos = cfg["add_eos_token"].OptionalBool() ?? false;
        // tokenizer_config.json's add_prefix_space, when set, overrides tokenizer.json (transformers re-converts
        // the tokenizer with it).
        bool addPrefix = cfg["add_prefix_space"].OptionalBool() ?? metaspacePrefix ?? prependNormalizer;

        return new SentencePieceTextTokenizer(vocab, unk, addPrefix)
        {
            BosId = bos,
            EosId = eos,
            PaddingId = pad,
            AddBos = addBos,
            AddEos = addEos,
            ChatTemplate = ChatTemplateOf(cfg["chat_template"]),
            EndOfGenerationIds = EndOfGeneration.Find(vocab, eos, GenerationEosIds(generation["eos_token_id"], vocab.Count)),
        };
    }

    static bool HasTemplateProcessing(JsonField root) => HasStep(root["post_processor"].Element, "TemplateProcessing");

    /// <summary>
    /// Scores for <see cref="SentencePieceMerger"/> from the merge list: a piece first produced by merge rank r
    /// (0-based) scores −r; every other entry scores <see cref="UnmergedScore"/>.
    /// </summary>
    /// <remarks>
    /// Why this reproduces the merge order. Hugging Face's BPE repeatedly applies, among the adjacent pairs (a, b)
    /// listed in the merges, the one with the lowest rank (leftmost on ties). The SentencePiece merger (llama.cpp's
    /// algorithm) repeatedly joins the adjacent pair whose concatenation a+b is a vocabulary entry with the highest
    /// score (leftmost on ties). Scoring a piece −(rank of the first merge that yields it) makes "higher score"
    /// mean "earlier merge", and ranks are distinct, so the two agree on which pair goes next whenever the
    /// candidate concatenations are pieces that merges produce. For a SentencePiece BPE model the merges are
    /// ranked by piece score (transformers' converter sorts them that way), so −rank orders the pieces as the
    /// original scores do, and we encode as llama.cpp does with the original scores.
    ///
    /// Entries no merge yields must never beat a real merge: single characters (the merger starts from one symbol
    /// per code point, so these are never a merge result and their score is never consulted), &lt;0xNN&gt; byte
    /// tokens, added tokens such as &lt;s&gt;, and pieces the list never reaches. They get
    /// <see cref="UnmergedScore"/>, far below −rank for any realistic list (ranks up to 2^24 stay exact in a
    /// float, and distinct). Where the two algorithms still part: the merger only looks at the concatenated text,
    /// so (1) if a+b is a produced piece but the list has only another split of it (c+d), the merger still joins
    /// a and b where Hugging Face would not (transformers lists every split of a SentencePiece piece, so for
    /// converted models this does not arise; llama.cpp behaves like the merger); and (2) an unmerged entry whose
    /// text is the concatenation of two adjacent symbols (e.g. "&lt;s" + "&gt;" with parse_special off) is still
    /// formed once no real merge is left in that run, where Hugging Face never forms it. llama.cpp, fed
    /// SentencePiece's own scores (0 for byte and control tokens), would form it even earlier, so no choice here
    /// matches both; (2) needs such text literally in the input.
    /// </remarks>
    static float[] MergeScores(JsonField model, Dictionary<string, int> ids, int count)
    {
        var merges = MergeList(model);
        int Find(JsonField m, int rank, string a, string b, string what) => ids.TryGetValue(what, out int id) ? id
            : throw m.Bad($"merge {rank} ('{a} {b}') needs '{what}', which is not in the vocabulary");

        var scores = new float[count];
        Array.Fill(scores, UnmergedScore);
        int n = 0;
        foreach (var m in merges.Items())
        {
            var (a, b) = ReadMerge(m, n);
            Find(m, n, a, b, a);
            Find(m, n, a, b, b);
            int merged = Find(m, n, a, b, a + b);
            if (n >= 1 << 24) throw new ModelFileException(model.File, $"has more than {1 << 24} merges; their ranks would not stay distinct as scores");
            if (scores[merged] == UnmergedScore) scores[merged] = -n;   // the first (best-ranked) merge that yields it
            n++;
        }
        return scores;
    }

    /// <summary>Prepend("▁") and Replace(" " → "▁"), alone or in a Sequence; nothing else changes text the way llama.cpp does.</summary>
    static void ReadSpmNormalizer(JsonField n, ref bool prepend, ref bool replace)
    {
        if (n.IsMissing) return;
        n.Object();
        string type = n["type"].OptionalString() ?? "";
        switch (type)
        {
            case "Sequence":
                if (n["normalizers"].IsMissing) throw n.Bad("normalizer Sequence has no 'normalizers' list");
                foreach (var x in n["normalizers"].Items()) ReadSpmNormalizer(x, ref prepend, ref replace);
                return;
            case "Prepend":
                string? what = n["prepend"].OptionalString();
                if (what != SpaceMark) throw n.Bad($"Prepend normalizer adds '{what}'; only '▁' (the SentencePiece dummy prefix) is supported");
                if (replace) throw n.Bad("the normalizer replaces ' ' before prepending '▁'; only Prepend then Replace is supported");
                prepend = true;
                return;
            case "Replace":
                string? from = n["pattern"].Object(optional: true)["String"].OptionalString();
                string? to = n["content"].OptionalString();
                if (from != " " || to != SpaceMark)
                    throw n.Bad($"Replace normalizer {Shorten(n.Element.GetRawText())} is not supported (only ' ' → '▁' is)");
                replace = true;
                return;
            default:
                throw n.Bad($"normalizer '{type}' is not supported for a SentencePiece-style tokenizer (Prepend '▁' and Replace ' ' → '▁' are)");
        }
    }

    /// <summary>
    /// None (null), or a Metaspace step: whether it adds the dummy prefix. Metaspace must not split: splitting
    /// encodes each space-separated word on its own, which SentencePiece and llama.cpp do not do. A Split on the
    /// literal " " is allowed (and ignored) after a Replace(" " → "▁") normalizer: pre-tokenizers see normalized
    /// text, which then has no space left to split on. Gemma 3's tokenizer.json is written that way.
    /// </summary>
    static bool? ReadSpmPreTokenizer(JsonField e, bool spacesReplaced)
    {
        if (e.IsMissing) return null;
        e.Object();
        string type = e["type"].OptionalString() ?? "";
        if (type == "Sequence" && !e["pretokenizers"].IsMissing)
        {
            bool? result = null;
            foreach (var x in e["pretokenizers"].Items())
            {
                var r = ReadSpmPreTokenizer(x, spacesReplaced);
                if (r is not null && result is not null) throw x.Bad("has more than one Metaspace pre-tokenizer");
                result ??= r;
            }
            return result;
        }
        if (type == "Split" && spacesReplaced && e["pattern"].Object(optional: true)["String"].OptionalString() == " "
            && !e["invert"].Bool(false))
            return null;
        if (type != "Metaspace")
            throw e.Bad($"pre-tokenizer '{type}' is not supported for a SentencePiece-style tokenizer (Metaspace is, and Split on \" \" after a Replace normalizer)");
        string replacement = e["replacement"].OptionalString() ?? SpaceMark;
        if (replacement != SpaceMark)
            throw e.Bad($"pre-tokenizer 'Metaspace' with replacement '{replacement}' is not supported (only '▁' is)");
        // Hugging Face's default when "split" is absent (and the only behaviour of older versions) is to split.
        if (e["split"].Bool(true))
            throw e.Bad("pre-tokenizer 'Metaspace' is not supported with split = true (the default): it encodes each word on its own, unlike SentencePiece and llama.cpp; only split = false is");
        if (e["prepend_scheme"].OptionalString() is { } scheme)
        {
            // "first" prepends only at the start of the input, "always" also after each added token Hugging Face
            // splits out; llama.cpp (which we follow) puts the prefix at the start and after each special token it
            // parses, so both map to "add the dummy prefix". They differ only with parseSpecial.
            return scheme switch
            {
                "first" or "always" => true,
                "never" => false,
                var s => throw e["prepend_scheme"].Bad($"Metaspace prepend_scheme '{s}' is unknown (first, always and never are)"),
            };
        }
        // Older files: add_prefix_space; absent means Hugging Face's default, "always".
        return e["add_prefix_space"].Bool(true);
    }

    static void CheckSpmModel(JsonField model)
    {
        if (!model["byte_fallback"].Bool(false))
            throw new ModelFileException(model.File, "model.byte_fallback is not true: a SentencePiece-style tokenizer without byte fallback (unknown characters become <unk>) is not supported");
        foreach (var key in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (model[key].OptionalString() is { Length: > 0 } v)
                throw new ModelFileException(model.File, $"model.{key} '{v}' is not supported for a SentencePiece-style tokenizer");
    }
}
