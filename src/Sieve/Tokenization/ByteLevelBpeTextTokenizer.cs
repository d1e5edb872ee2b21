using System.Text;
using Microsoft.ML.Tokenizers;
using Sieve.Formats;

namespace Sieve.Tokenization;

/// <summary>
/// A byte-level BPE vocabulary (GGUF <c>tokenizer.ggml.model = gpt2</c>: GPT-2, Llama 3, Qwen2, Phi-2, ...).
/// The merges themselves run in Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>; around it we do what it
/// does not: llama.cpp's special-token splitting, the pre-tokenizer regex chain chosen by
/// <c>tokenizer.ggml.pre</c>, and Llama 3's "a word that is a token is not merged" rule.
/// </summary>
public sealed class ByteLevelBpeTextTokenizer : TextTokenizer
{
    readonly BpeTokenizer _bpe;
    readonly ByteLevelBpeMerger _longWords;
    readonly byte[][] _bytes;
    readonly string[] _merges;

    public Vocabulary Vocabulary { get; }
    public PreTokenizer PreTokenizer { get; }
    /// <summary>GGUF <c>tokenizer.ggml.pre</c>: names the pre-tokenizer for llama.cpp.</summary>
    public string PreName { get; }
    public IReadOnlyList<string> Merges => _merges;
    public bool IgnoreMerges { get; init; }
    /// <summary>Hugging Face normalizer NFC (Qwen2's tokenizer.json has it; GGUF files do not record it).</summary>
    public bool NormalizeNfc { get; init; }
    /// <summary>Hugging Face ByteLevel add_prefix_space: a space before text that does not start with one.</summary>
    public bool AddPrefixSpace { get; init; }
    /// <summary>Words longer than this many characters bypass BpeTokenizer (see <see cref="ByteLevelBpeMerger"/>).</summary>
    internal int LongWordChars { get; set; } = 256;

    public override int VocabSize => Vocabulary.Count;

    /// <param name="source">File named in errors.</param>
    /// <param name="merges">"left right" pairs in priority order.</param>
    public ByteLevelBpeTextTokenizer(string source, Vocabulary vocabulary, IReadOnlyList<string> merges, string preName, PreTokenizer preTokenizer)
    {
        Vocabulary = vocabulary;
        PreName = preName;
        PreTokenizer = preTokenizer;
        _merges = merges.ToArray();
        for (int i = 0; i < _merges.Length; i++)
        {
            // The first character is never the separator (" a" has no left token); "" has none at all.
            int space = _merges[i].Length > 1 ? _merges[i].IndexOf(' ', 1) : -1;
            if (space <= 0 || space == _merges[i].Length - 1)
                throw new ModelFileException(source, $"merge {i} ('{_merges[i]}') is not two tokens separated by a space");
        }

        // BpeTokenizer wants one id per text; only byte-level tokens take part in merging, and a duplicate text
        // resolves to its last id as in llama.cpp.
        var ids = new Dictionary<string, int>(vocabulary.Count, StringComparer.Ordinal);
        for (int i = 0; i < vocabulary.Count; i++) ids[vocabulary[i]] = i;
        try
        {
            _bpe = BpeTokenizer.Create(new BpeOptions(ids) { Merges = _merges, ByteLevel = true });
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw new ModelFileException(source, $"the BPE vocabulary and merges do not fit together: {e.Message}", e);
        }

        _longWords = new ByteLevelBpeMerger(vocabulary, _merges);
        _bytes = new byte[vocabulary.Count][];
        for (int i = 0; i < vocabulary.Count; i++) _bytes[i] = PieceBytes(vocabulary[i], vocabulary.TypeOf(i));
    }

    public override int[] Encode(string text, bool? addBos = null, bool parseSpecial = false)
    {
        bool addSpecial = addBos ?? true;
        var output = new List<int>(text.Length / 3 + 2);
        if ((addBos ?? AddBos) && BosId >= 0) output.Add(BosId);

        foreach (var f in SpecialTokenSplitter.Split(text, Vocabulary, parseSpecial))
        {
            if (f.IsToken) { output.Add(f.TokenId); continue; }
            string raw = text.Substring(f.Start, f.Length);
            if (NormalizeNfc) raw = raw.Normalize(NormalizationForm.FormC);
            if (AddPrefixSpace && !raw.StartsWith(' ')) raw = " " + raw;
            foreach (var (start, length) in PreTokenizer.Split(raw, 0, raw.Length))
                EncodeWord(raw.AsSpan(start, length), output);
        }

        if (addSpecial && AddEos && EosId >= 0) output.Add(EosId);
        return output.ToArray();
    }

    void EncodeWord(ReadOnlySpan<char> word, List<int> output)
    {
        if (IgnoreMerges || word.Length > LongWordChars)
        {
            string spelled = ByteLevelAlphabet.Encode(word);
            if (IgnoreMerges && Vocabulary.TryGetId(spelled, out int whole)) { output.Add(whole); return; }
            if (word.Length > LongWordChars) { _longWords.Encode(spelled, output); return; }
        }
        output.AddRange(_bpe.EncodeToIds(word, considerPreTokenization: false, considerNormalization: false));
    }

    public override ReadOnlySpan<byte> TokenBytes(int id) => _bytes[CheckRange(id)];
    public override string TokenText(int id) => Vocabulary[CheckRange(id)];
    public override TokenType TokenKind(int id) => Vocabulary.TypeOf(CheckRange(id));

    /// <summary>What llama.cpp prints: normal tokens through the byte table, user-defined ones verbatim, nothing for the rest.</summary>
    static byte[] PieceBytes(string text, TokenType type) => type switch
    {
        TokenType.Normal => ByteLevelAlphabet.Decode(text),
        TokenType.UserDefined => Encoding.UTF8.GetBytes(text),
        _ => [],
    };

    int CheckRange(int id) => (uint)id < (uint)Vocabulary.Count ? id
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"token id outside the vocabulary of {Vocabulary.Count}");

    public override IReadOnlyDictionary<string, object> ToGgufMetadata()
    {
        var meta = GgufTokenizerMetadata.Common(this, Vocabulary, GgufTokenizerKeys.ModelByteLevelBpe, PreName, includeScores: Vocabulary.HasScores);
        meta[GgufTokenizerKeys.Merges] = _merges.ToArray();
        return meta;
    }
}
