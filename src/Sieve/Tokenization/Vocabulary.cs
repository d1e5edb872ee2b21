using System.Text;
using Sieve.Formats;

namespace Sieve.Tokenization;

/// <summary>
/// The token list of a checkpoint as llama.cpp holds it: text, score and type per id, a text → id lookup, and
/// the special tokens that are split out of text before the model-specific encoder runs. Built once from
/// whatever file carried it (GGUF arrays, tokenizer.json, llama2.c tokenizer.bin) and checked on the way in,
/// because those files are untrusted input.
/// </summary>
public sealed class Vocabulary
{
    readonly string[] _tokens;
    readonly float[] _scores;
    readonly TokenType[] _types;
    readonly Dictionary<string, int> _ids;
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _idsBySpan;
    readonly bool[] _lstrip, _rstrip;

    public int Count => _tokens.Length;
    public IReadOnlyList<string> Tokens => _tokens;
    /// <summary>Per-token scores; all zero when the file had none (byte-level BPE vocabularies do not).</summary>
    public IReadOnlyList<float> Scores => _scores;
    public IReadOnlyList<TokenType> Types => _types;
    public bool HasScores { get; }

    /// <summary>
    /// Control, user-defined and unknown tokens, longest text first: the order in which llama.cpp looks for them
    /// in raw text, so that e.g. "&lt;|im_end|&gt;" wins over a shorter token it contains.
    /// </summary>
    public IReadOnlyList<int> SpecialTokensLongestFirst { get; }

    /// <param name="source">File named in errors.</param>
    /// <param name="scores">Null when the format has no scores.</param>
    /// <param name="types">Null when the format has no types: every token is then <see cref="TokenType.Normal"/>.</param>
    public Vocabulary(string source, IReadOnlyList<string> tokens, IReadOnlyList<float>? scores, IReadOnlyList<TokenType>? types)
    {
        if (tokens.Count == 0) throw new ModelFileException(source, "the vocabulary has no tokens");
        if (scores != null && scores.Count != tokens.Count)
            throw new ModelFileException(source, $"the vocabulary has {tokens.Count} tokens but {scores.Count} scores");
        if (types != null && types.Count != tokens.Count)
            throw new ModelFileException(source, $"the vocabulary has {tokens.Count} tokens but {types.Count} token types");

        int n = tokens.Count;
        _tokens = new string[n];
        _scores = new float[n];
        _types = new TokenType[n];
        _ids = new Dictionary<string, int>(n, StringComparer.Ordinal);
        HasScores = scores != null;
        for (int i = 0; i < n; i++)
        {
            // llama.cpp renames empty tokens the same way, so that every id keeps a distinct, findable text.
            string t = string.IsNullOrEmpty(tokens[i]) ? $"[EMPTY_{i}]" : tokens[i];
            _tokens[i] = t;
            _scores[i] = scores?[i] ?? 0f;
            var type = types?[i] ?? TokenType.Normal;
            if (!Enum.IsDefined(type)) throw new ModelFileException(source, $"token {i} ('{t}') has unknown token type {(int)type}");
            _types[i] = type;
            _ids[t] = i;   // a duplicate text maps to its last id, as in llama.cpp
        }
        _idsBySpan = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
        _lstrip = new bool[n];
        _rstrip = new bool[n];

        var special = new List<int>();
        for (int i = 0; i < n; i++)
            if (_types[i] is TokenType.Control or TokenType.UserDefined or TokenType.Unknown) special.Add(i);
        // Longest UTF-8 text first (llama.cpp compares byte lengths); ties keep id order so the result is stable.
        SpecialTokensLongestFirst = special.OrderByDescending(i => Encoding.UTF8.GetByteCount(_tokens[i])).ThenBy(i => i).ToArray();
    }

    public string this[int id] => _tokens[id];
    public TokenType TypeOf(int id) => _types[id];
    public float ScoreOf(int id) => _scores[id];

    public bool TryGetId(ReadOnlySpan<char> text, out int id) => _idsBySpan.TryGetValue(text, out id);
    public int IdOf(string text) => _ids.TryGetValue(text, out int id) ? id : -1;

    /// <summary>Whether whitespace before (lstrip) or after (rstrip) this special token is swallowed when it is split out.</summary>
    public bool StripsLeft(int id) => _lstrip[id];
    public bool StripsRight(int id) => _rstrip[id];
    internal void SetStrip(int id, bool? left, bool? right)
    {
        if (left is { } l) _lstrip[id] = l;
        if (right is { } r) _rstrip[id] = r;
    }

    /// <summary>An id read from a file: -1 (or the GGUF "none" value 0xFFFFFFFF) means none; anything else must be in range.</summary>
    internal int CheckId(string source, string what, long? id)
    {
        if (id is null or -1 or 0xFFFFFFFF) return -1;
        if (id < 0 || id >= Count) throw new ModelFileException(source, $"{what} {id} is out of range (the vocabulary has {Count} tokens)");
        return (int)id;
    }
}
