using K = Sieve.Tokenization.GgufTokenizerKeys;

namespace Sieve.Tokenization;

/// <summary>
/// Reads <c>tokenizer.ggml.*</c> metadata the way llama.cpp's vocabulary loader does, including its defaults
/// for keys a file leaves out (BOS 1 / EOS 2 / unknown 0 and add_bos for SentencePiece; no BOS for byte-level
/// BPE except Llama 3) and its per-model token attributes.
/// </summary>
static class GgufTokenizerLoader
{
    public static TextTokenizer Load(MetadataValues m)
    {
        string model = m.String(K.Model) ?? throw m.Bad($"'{K.Model}' is missing: the file carries no tokenizer");
        var tokens = m.Strings(K.Tokens) ?? throw m.Bad($"'{K.Tokens}' is missing");
        var scores = m.Floats(K.Scores);
        var rawTypes = m.Ints(K.TokenType);
        var types = rawTypes?.Select(t => (TokenType)t).ToArray();
        if (types != null) CheckByteTokens(m, tokens, types);
        var vocab = new Vocabulary(m.Source, tokens, scores, types);
        string? template = m.String(K.ChatTemplate);

        return model switch
        {
            K.ModelSentencePiece => LoadSentencePiece(m, vocab, template),
            K.ModelByteLevelBpe => LoadByteLevelBpe(m, vocab, template),
            _ => throw m.Bad($"tokenizer model '{model}' is not supported (llama and gpt2 are)"),
        };
    }

    static TextTokenizer LoadSentencePiece(MetadataValues m, Vocabulary vocab, string? template)
    {
        int bos = Id(m, vocab, K.BosId, 1), eos = Id(m, vocab, K.EosId, 2), unk = Id(m, vocab, K.UnknownId, 0);
        int eot = Id(m, vocab, K.EotId, -1), eom = Id(m, vocab, K.EomId, -1);
        ApplyModelAttributes(m, vocab);
        return new SentencePieceTextTokenizer(vocab, unk, m.Bool(K.AddSpacePrefix) ?? true)
        {
            BosId = bos,
            EosId = eos,
            PaddingId = Id(m, vocab, K.PaddingId, -1),
            AddBos = m.Bool(K.AddBos) ?? true,
            AddEos = m.Bool(K.AddEos) ?? false,
            ChatTemplate = template,
            EndOfGenerationIds = EndOfGeneration.Find(vocab, eos, eot, eom),
        };
    }

    static TextTokenizer LoadByteLevelBpe(MetadataValues m, Vocabulary vocab, string? template)
    {
        var merges = m.Strings(K.Merges) ?? throw m.Bad($"'{K.Merges}' is missing: a gpt2 tokenizer needs its merges");
        string pre = m.String(K.Pre) ?? "default";
        // Unknown names fall back to llama.cpp's default chain, as llama.cpp does (with a warning).
        var patterns = PreTokenizer.PatternsFor(pre) ?? PreTokenizer.PatternsFor("default")!;
        int bos = Id(m, vocab, K.BosId, -1), eos = Id(m, vocab, K.EosId, -1);
        int eot = Id(m, vocab, K.EotId, -1), eom = Id(m, vocab, K.EomId, -1);
        return new ByteLevelBpeTextTokenizer(m.Source, vocab, merges, pre, new PreTokenizer(patterns))
        {
            BosId = bos,
            EosId = eos,
            UnknownId = Id(m, vocab, K.UnknownId, -1),
            PaddingId = Id(m, vocab, K.PaddingId, -1),
            AddBos = m.Bool(K.AddBos) ?? PreTokenizer.IgnoresMerges(pre),
            AddEos = m.Bool(K.AddEos) ?? false,
            IgnoreMerges = PreTokenizer.IgnoresMerges(pre),
            ChatTemplate = template,
            EndOfGenerationIds = EndOfGeneration.Find(vocab, eos, eot, eom),
        };
    }

    /// <summary>
    /// A BYTE token stands for the one byte its text spells, "&lt;0xHH&gt;"; typed BYTE with any other text it would
    /// decode to nothing (and llama.cpp aborts on it), so the vocabulary is refused, naming the token.
    /// </summary>
    static void CheckByteTokens(MetadataValues m, string[] tokens, TokenType[] types)
    {
        int n = Math.Min(tokens.Length, types.Length);
        for (int i = 0; i < n; i++)
        {
            if (types[i] == TokenType.Byte && !SentencePieceTextTokenizer.TryParseByteToken(tokens[i], out _))
            {
                string text = tokens[i].Length <= 40 ? tokens[i] : tokens[i][..(char.IsHighSurrogate(tokens[i][39]) ? 39 : 40)] + "…";
                throw m.Bad($"token {i} is typed BYTE but its text '{text}' is not a byte of the form <0xHH>");
            }
        }
    }

    static int Id(MetadataValues m, Vocabulary vocab, string key, int fallback)
    {
        long? id = m.Int(key);
        if (id is null) return fallback < vocab.Count ? fallback : -1;
        return vocab.CheckId(m.Source, $"'{key}'", id);
    }

    /// <summary>
    /// llama.cpp's per-model token attributes, chosen by general.name since GGUF does not store them: Phi-3's
    /// special tokens swallow the whitespace after them (so "&lt;|user|&gt;\nHi" encodes like "&lt;|user|&gt;Hi").
    /// </summary>
    static void ApplyModelAttributes(MetadataValues m, Vocabulary vocab)
    {
        string name = (m.String(K.GeneralName) ?? "").ToLowerInvariant();
        if (!name.Contains("phi-3") && !name.Contains("phi3")) return;
        foreach (int id in vocab.SpecialTokensLongestFirst) vocab.SetStrip(id, null, true);
        foreach (var (text, strip) in new[] { ("</s>", true), ("<unk>", false), ("<s>", false), ("<|endoftext|>", false) })
        {
            int id = vocab.IdOf(text);
            if (id >= 0) vocab.SetStrip(id, null, strip);
        }
    }
}
