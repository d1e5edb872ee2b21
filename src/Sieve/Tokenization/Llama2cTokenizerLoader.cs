using System.Buffers.Binary;
using System.Text;
using Sieve.Formats;

namespace Sieve.Tokenization;

/// <summary>
/// Reads a llama2.c <c>tokenizer.bin</c>: int32 max_token_length, then per token a float32 score, an int32 byte
/// length and the bytes. The vocabulary is the SentencePiece one llama2.c exported, so it becomes a
/// <see cref="SentencePieceTextTokenizer"/>: spaces are stored as ' ' and become '▁' again, "\n&lt;s&gt;\n" and
/// "\n&lt;/s&gt;\n" become the control tokens &lt;s&gt; and &lt;/s&gt; (ids 1 and 2, which llama2.c hard-codes), "&lt;0xNN&gt;" are
/// byte tokens and id 0 is unknown. llama2.c's encoder (dummy ' ' token, one token per character or byte,
/// then greedy highest-score merging, leftmost on ties) is the same algorithm as llama.cpp's, so the result
/// encodes identically to the GGUF copy of the same vocabulary.
/// </summary>
static class Llama2cTokenizerLoader
{
    const int BosId = 1, EosId = 2, UnknownId = 0;
    static readonly UTF8Encoding Strict = new(false, true);

    public static TextTokenizer Load(string path, int vocabSize)
    {
        if (vocabSize <= 0) throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize, "vocabulary size must be positive");
        if (!File.Exists(path)) throw new ModelFileException(path, "file not found");
        byte[] data = File.ReadAllBytes(path);

        int pos = 0;
        int maxTokenLength = ReadInt(data, ref pos, path, "max_token_length");
        if (maxTokenLength <= 0) throw new ModelFileException(path, $"max_token_length {maxTokenLength} is not positive: not a llama2.c tokenizer");

        var tokens = new string[vocabSize];
        var scores = new float[vocabSize];
        var types = new TokenType[vocabSize];
        for (int i = 0; i < vocabSize; i++)
        {
            if (data.Length - pos < 8) throw new ModelFileException(path, $"ends in token {i} of {vocabSize}: truncated");
            scores[i] = BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(pos));
            int len = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(pos + 4));
            pos += 8;
            if (len < 0 || len > maxTokenLength) throw new ModelFileException(path, $"token {i} has length {len} (max_token_length is {maxTokenLength}): corrupt file");
            if (data.Length - pos < len) throw new ModelFileException(path, $"token {i} runs past the end of the file: truncated");
            string text;
            try { text = Strict.GetString(data, pos, len); }
            catch (DecoderFallbackException) { throw new ModelFileException(path, $"token {i} is not valid UTF-8: corrupt file"); }
            pos += len;
            (tokens[i], types[i]) = Classify(i, text);
        }

        var vocab = new Vocabulary(path, tokens, scores, types);
        return new SentencePieceTextTokenizer(vocab, UnknownId)
        {
            BosId = BosId,
            EosId = vocabSize > EosId ? EosId : -1,
            AddBos = true,
            AddEos = false,
            EndOfGenerationIds = EndOfGeneration.Find(vocab, vocabSize > EosId ? EosId : -1, BosId),
        };
    }

    static (string Text, TokenType Type) Classify(int id, string text)
    {
        switch (id)
        {
            case UnknownId: return ("<unk>", TokenType.Unknown);
            case BosId: return ("<s>", TokenType.Control);
            case EosId: return ("</s>", TokenType.Control);
        }
        if (SentencePieceTextTokenizer.TryParseByteToken(text, out _)) return (text, TokenType.Byte);
        return (text.Replace(' ', '▁'), TokenType.Normal);
    }

    static int ReadInt(byte[] data, ref int pos, string path, string what)
    {
        if (data.Length - pos < 4) throw new ModelFileException(path, $"too short to hold {what}: truncated");
        int v = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(pos));
        pos += 4;
        return v;
    }
}
