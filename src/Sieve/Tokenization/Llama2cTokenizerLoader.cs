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
    /// <summary>Real pieces are a few dozen bytes (tok32000's max_token_length is 27); 64 KiB bounds what one token may allocate.</summary>
    const int MaxTokenBytes = 1 << 16;
    static readonly UTF8Encoding Strict = new(false, true);

    public static TextTokenizer Load(string path, int vocabSize)
    {
        if (vocabSize <= 0) throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize, "vocabulary size must be positive");
        if (!File.Exists(path)) throw new ModelFileException(path, "file not found");
        // Read token by token rather than the whole file: whatever file is passed as the tokenizer, nothing larger
        // than one token (at most max_token_length bytes, and never past the end of the file) is allocated.
        using var file = OpenRead(path);
        long fileLength = file.Length;
        Span<byte> head = stackalloc byte[8];
        if (!TryRead(file, head[..4])) throw new ModelFileException(path, "too short to hold max_token_length: truncated");
        int maxTokenLength = BinaryPrimitives.ReadInt32LittleEndian(head);
        if (maxTokenLength <= 0) throw new ModelFileException(path, $"max_token_length {maxTokenLength} is not positive: not a llama2.c tokenizer");
        // Each token takes at least 8 bytes (score, length), so the file bounds the count before we allocate for it.
        long fits = (fileLength - 4) / 8;
        if (fits < vocabSize)
            throw new ModelFileException(path, $"is {fileLength} bytes, room for at most {fits} of the checkpoint's {vocabSize} tokens: truncated, or not this checkpoint's tokenizer");

        var tokens = new string[vocabSize];
        var scores = new float[vocabSize];
        var types = new TokenType[vocabSize];
        byte[] text = new byte[256];
        for (int i = 0; i < vocabSize; i++)
        {
            if (!TryRead(file, head)) throw new ModelFileException(path, $"ends in token {i} of {vocabSize}: truncated");
            scores[i] = BinaryPrimitives.ReadSingleLittleEndian(head);
            int len = BinaryPrimitives.ReadInt32LittleEndian(head[4..]);
            if (len < 0 || len > maxTokenLength) throw new ModelFileException(path, $"token {i} has length {len} (max_token_length is {maxTokenLength}): corrupt file");
            if (len > MaxTokenBytes) throw new ModelFileException(path, $"token {i} has length {len}; a token over {MaxTokenBytes} bytes is not plausible: corrupt file");
            if (len > fileLength - file.Position) throw new ModelFileException(path, $"token {i} runs past the end of the file: truncated");
            if (text.Length < len) text = new byte[Math.Max(len, 2 * text.Length)];
            if (!TryRead(file, text.AsSpan(0, len))) throw new ModelFileException(path, $"token {i} runs past the end of the file: truncated");
            string piece;
            try { piece = Strict.GetString(text, 0, len); }
            catch (DecoderFallbackException) { throw new ModelFileException(path, $"token {i} is not valid UTF-8: corrupt file"); }
            (tokens[i], types[i]) = Classify(i, piece);
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

    static FileStream OpenRead(string path)
    {
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFileException(path, $"cannot be read: {e.Message}", e);
        }
    }

    static bool TryRead(FileStream file, Span<byte> into)
    {
        try { file.ReadExactly(into); return true; }
        catch (EndOfStreamException) { return false; }
    }
}
