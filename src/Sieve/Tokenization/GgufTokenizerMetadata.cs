namespace Sieve.Tokenization;

/// <summary>
/// Writes a tokenizer back as GGUF <c>tokenizer.*</c> metadata with the value types llama.cpp's converter uses
/// and <see cref="Formats.Gguf.GgufFile"/> reads back: string, string[], float[], int[] (token types), uint (ids)
/// and bool.
/// </summary>
static class GgufTokenizerMetadata
{
    public static Dictionary<string, object> Common(TextTokenizer tok, Vocabulary vocab, string model, string pre, bool includeScores)
    {
        var meta = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            [GgufTokenizerKeys.Model] = model,
            [GgufTokenizerKeys.Pre] = pre,
            [GgufTokenizerKeys.Tokens] = vocab.Tokens.ToArray(),
            [GgufTokenizerKeys.TokenType] = vocab.Types.Select(t => (int)t).ToArray(),
            [GgufTokenizerKeys.AddBos] = tok.AddBos,
            [GgufTokenizerKeys.AddEos] = tok.AddEos,
        };
        if (includeScores) meta[GgufTokenizerKeys.Scores] = vocab.Scores.ToArray();
        PutId(meta, GgufTokenizerKeys.BosId, tok.BosId);
        PutId(meta, GgufTokenizerKeys.EosId, tok.EosId);
        PutId(meta, GgufTokenizerKeys.UnknownId, tok.UnknownId);
        PutId(meta, GgufTokenizerKeys.PaddingId, tok.PaddingId);
        if (tok.ChatTemplate != null) meta[GgufTokenizerKeys.ChatTemplate] = tok.ChatTemplate;
        return meta;
    }

    /// <summary>Ids are written as uint32, as llama.cpp does; an absent id (-1) is left out.</summary>
    public static void PutId(Dictionary<string, object> meta, string key, int id)
    {
        if (id >= 0) meta[key] = (uint)id;
    }
}
