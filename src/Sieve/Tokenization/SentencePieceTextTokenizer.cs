using System.Text;

namespace Sieve.Tokenization;

/// <summary>
/// A SentencePiece BPE vocabulary (GGUF <c>tokenizer.ggml.model = llama</c>: Llama 1/2, Mistral v0.1, Phi-3,
/// TinyLlama, llama2.c) encoded and decoded as llama.cpp does.
/// </summary>
public sealed class SentencePieceTextTokenizer : TextTokenizer
{
    readonly SentencePieceMerger _merger;
    readonly byte[][] _bytes;

    public Vocabulary Vocabulary { get; }
    /// <summary>Put a space before text that starts the input or follows a special token (SentencePiece's dummy prefix).</summary>
    public bool AddSpacePrefix { get; }

    public override int VocabSize => Vocabulary.Count;
    public override bool StripLeadingSpace => AddSpacePrefix;

    public SentencePieceTextTokenizer(Vocabulary vocabulary, int unknownId, bool addSpacePrefix = true)
    {
        Vocabulary = vocabulary;
        UnknownId = unknownId;
        AddSpacePrefix = addSpacePrefix;
        _merger = new SentencePieceMerger(vocabulary, unknownId);
        _bytes = new byte[vocabulary.Count][];
        for (int i = 0; i < vocabulary.Count; i++) _bytes[i] = PieceBytes(vocabulary[i], vocabulary.TypeOf(i));
    }

    public override int[] Encode(string text, bool? addBos = null, bool parseSpecial = false)
    {
        bool addSpecial = addBos ?? true;
        var output = new List<int>(text.Length / 3 + 2);
        if ((addBos ?? AddBos) && BosId >= 0) output.Add(BosId);

        bool previousWasSpecial = true;   // the start of the input counts as "after a special token"
        var buffer = new StringBuilder();
        foreach (var f in SpecialTokenSplitter.Split(text, Vocabulary, parseSpecial))
        {
            if (f.IsToken) { output.Add(f.TokenId); previousWasSpecial = true; continue; }
            buffer.Clear();
            if (AddSpacePrefix && previousWasSpecial) buffer.Append(' ');
            buffer.Append(text, f.Start, f.Length).Replace(' ', '▁');
            _merger.Encode(buffer.ToString(), output);
            previousWasSpecial = false;
        }

        if (addSpecial && AddEos && EosId >= 0) output.Add(EosId);
        return output.ToArray();
    }

    public override ReadOnlySpan<byte> TokenBytes(int id) => _bytes[CheckRange(id)];
    public override string TokenText(int id) => Vocabulary[CheckRange(id)];
    public override TokenType TokenKind(int id) => Vocabulary.TypeOf(CheckRange(id));

    /// <summary>
    /// What llama.cpp prints for a token: normal pieces with '▁' read as a space, byte tokens as their byte,
    /// user-defined tokens verbatim, and nothing for control, unknown and unused ones.
    /// </summary>
    static byte[] PieceBytes(string text, TokenType type) => type switch
    {
        TokenType.Normal => Encoding.UTF8.GetBytes(text.Replace('▁', ' ')),
        TokenType.UserDefined => Encoding.UTF8.GetBytes(text),
        TokenType.Byte when TryParseByteToken(text, out byte b) => [b],
        _ => [],
    };

    /// <summary>Parses "&lt;0xNN&gt;".</summary>
    internal static bool TryParseByteToken(string text, out byte value)
    {
        value = 0;
        return text.Length == 6 && text.StartsWith("<0x", StringComparison.Ordinal) && text[5] == '>'
            && byte.TryParse(text.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out value);
    }

    int CheckRange(int id) => (uint)id < (uint)Vocabulary.Count ? id
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"token id outside the vocabulary of {Vocabulary.Count}");

    public override IReadOnlyDictionary<string, object> ToGgufMetadata()
    {
        var meta = GgufTokenizerMetadata.Common(this, Vocabulary, GgufTokenizerKeys.ModelSentencePiece, "default", includeScores: true);
        if (!AddSpacePrefix) meta[GgufTokenizerKeys.AddSpacePrefix] = false;
        return meta;
    }
}
