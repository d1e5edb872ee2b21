namespace Sieve.Tokenization;

/// <summary>
/// A placeholder SentencePiece-style vocabulary of any size (unk, BOS, EOS, the 256 byte tokens, then filler
/// pieces), so a random-weight model of a real shape can be written as a complete, loadable GGUF.
/// </summary>
public static class SyntheticVocabulary
{
    public static IReadOnlyDictionary<string, object> GgufMetadata(int vocabSize)
    {
        if (vocabSize < 259 + 1) throw new ArgumentException("a synthetic vocabulary needs at least 260 tokens");
        var tokens = new string[vocabSize];
        var scores = new float[vocabSize];
        var types = new int[vocabSize];
        tokens[0] = "<unk>"; types[0] = 2;
        tokens[1] = "<s>"; types[1] = 3;
        tokens[2] = "</s>"; types[2] = 3;
        for (int b = 0; b < 256; b++) { tokens[3 + b] = $"<0x{b:X2}>"; types[3 + b] = 6; }
        for (int i = 259; i < vocabSize; i++)
        {
            tokens[i] = $"\u2581t{i}";
            types[i] = 1;
            scores[i] = -i;
        }
        return new Dictionary<string, object>
        {
            [GgufTokenizerKeys.Model] = "llama",
            [GgufTokenizerKeys.Tokens] = tokens,
            [GgufTokenizerKeys.Scores] = scores,
            [GgufTokenizerKeys.TokenType] = types,
            [GgufTokenizerKeys.BosId] = 1u,
            [GgufTokenizerKeys.EosId] = 2u,
            [GgufTokenizerKeys.UnknownId] = 0u,
            [GgufTokenizerKeys.AddBos] = true,
        };
    }
}
