using System.Text;

namespace Sieve.Tokenization;

/// <summary>
/// What the engine needs from a tokenizer: text to ids, ids to bytes, and the special ids. Implementations are
/// built from the checkpoint's own vocabulary (<see cref="TokenizerFactory"/>) and encode as llama.cpp does:
/// byte-level BPE merges run in Microsoft.ML.Tokenizers, SentencePiece merges in our own code (see
/// <see cref="SentencePieceMerger"/> for why).
/// </summary>
public abstract class TextTokenizer
{
    public abstract int VocabSize { get; }
    /// <summary>-1 when the vocabulary has none.</summary>
    public int BosId { get; init; } = -1;
    public int EosId { get; init; } = -1;
    /// <summary>Whether a prompt starts with BOS by default (GGUF <c>tokenizer.ggml.add_bos_token</c>).</summary>
    public bool AddBos { get; init; } = true;
    /// <summary>Whether an encoding with special tokens ends with EOS (GGUF <c>tokenizer.ggml.add_eos_token</c>).</summary>
    public bool AddEos { get; init; }
    public int UnknownId { get; init; } = -1;
    public int PaddingId { get; init; } = -1;
    /// <summary>Ids that end generation: EOS plus end-of-turn tokens such as &lt;|eot_id|&gt; or &lt;|im_end|&gt;.</summary>
    public IReadOnlySet<int> EndOfGenerationIds { get; init; } = new HashSet<int>();
    /// <summary>Jinja chat template from the checkpoint, if it has one.</summary>
    public string? ChatTemplate { get; init; }

    /// <summary>
    /// Encodes <paramref name="text"/>. <paramref name="addBos"/> null means "as the vocabulary says" (BOS per
    /// <see cref="AddBos"/>, EOS per <see cref="AddEos"/>); true forces BOS; false adds neither BOS nor EOS, which
    /// is llama.cpp's <c>add_special = false</c>.
    /// </summary>
    /// <param name="parseSpecial">Whether special-token text such as "&lt;|im_end|&gt;" becomes its id.</param>
    public abstract int[] Encode(string text, bool? addBos = null, bool parseSpecial = false);

    /// <summary>The raw bytes a token stands for (byte tokens give their byte; control tokens give nothing).</summary>
    public abstract ReadOnlySpan<byte> TokenBytes(int id);

    /// <summary>The token's text as it is stored in the vocabulary (for display and debugging).</summary>
    public abstract string TokenText(int id);

    /// <summary>The token's type (normal, control, byte, ...).</summary>
    public abstract TokenType TokenKind(int id);

    /// <summary>
    /// Decodes a whole sequence to text, as llama.cpp's detokenizer would: with <see cref="StripLeadingSpace"/>,
    /// the first piece that has any bytes (so not BOS or another control token) loses one leading space.
    /// </summary>
    public virtual string Decode(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        bool first = true;
        foreach (int id in ids)
        {
            var b = TokenBytes(id);
            if (b.Length == 0) continue;
            if (first && StripLeadingSpace && b[0] == (byte)' ') b = b[1..];
            first = false;
            foreach (var x in b) bytes.Add(x);
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>
    /// The vocabulary as GGUF <c>tokenizer.ggml.*</c> metadata (model, tokens, scores, token_type, merges, special
    /// ids, pre-tokenizer, chat template), so a converter can write it into a new GGUF file.
    /// </summary>
    public abstract IReadOnlyDictionary<string, object> ToGgufMetadata();

    /// <summary>SentencePiece adds a dummy space before the first word; decoding drops it again.</summary>
    public virtual bool StripLeadingSpace => false;
}
