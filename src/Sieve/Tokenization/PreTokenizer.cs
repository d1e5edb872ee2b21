namespace Sieve.Tokenization;

/// <summary>
/// Splits raw text into the words that byte-level BPE merges within. Like llama.cpp, a pre-tokenizer is a chain
/// of regexes: each one splits every piece left by the previous one into its matches and the text between them,
/// and both are kept (nothing is dropped), which is also Hugging Face's "Isolated" split behaviour.
/// </summary>
/// <remarks>
/// .NET regexes see UTF-16 code units, so text with code points outside the Basic Multilingual Plane (emoji,
/// 𝔘, CJK extension B) is folded first, one stand-in character per code point (<see cref="AstralFolding"/>), so
/// that \p{L} and \p{N} classify them as Hugging Face and llama.cpp do.
/// </remarks>
public sealed class PreTokenizer
{
    readonly GuardedRegex[] _regexes;
    public IReadOnlyList<string> Patterns { get; }

    /// <param name="source">The file the patterns came from, named in errors (an unusable pattern, one that stalls).</param>
    public PreTokenizer(IReadOnlyList<string> patterns, string source = "pre-tokenizer")
    {
        Patterns = patterns;
        _regexes = patterns.Select(p => new GuardedRegex(p, source, trusted: BuiltIn.Contains(p))).ToArray();
    }

    /// <summary>
    /// The patterns of <see cref="PatternsFor"/>: known to run in linear time, so they run with no time limit, and a
    /// stalled machine (a suspended process, a swapping heap) can never turn a good tokenizer into an error.
    /// </summary>
    static readonly HashSet<string> BuiltIn = new[] { "gpt-2", "llama3", "qwen2", "starcoder", "falcon", "default" }
        .SelectMany(n => PatternsFor(n)!).ToHashSet(StringComparer.Ordinal);

    /// <summary>The pieces of text[start..start+length] as (start, length) pairs, in order.</summary>
    public List<(int Start, int Length)> Split(string text, int start, int length)
    {
        if (!AstralFolding.HasSurrogates(text.AsSpan(start, length))) return SplitFolded(text, start, length);
        var (folded, offsets) = AstralFolding.Fold(text.AsSpan(start, length));
        var pieces = SplitFolded(folded, 0, folded.Length);
        for (int i = 0; i < pieces.Count; i++)
        {
            var (s, l) = pieces[i];
            pieces[i] = (start + offsets[s], offsets[s + l] - offsets[s]);
        }
        return pieces;
    }

    List<(int Start, int Length)> SplitFolded(string text, int start, int length)
    {
        var pieces = new List<(int, int)> { (start, length) };
        foreach (var regex in _regexes)
        {
            var next = new List<(int, int)>(pieces.Count * 2);
            foreach (var (s, l) in pieces) regex.Split(text, s, l, next);
            pieces = next;
        }
        return pieces;
    }

    // Patterns are llama.cpp's for each tokenizer.ggml.pre value (they are the models' own, from tokenizer.json).
    const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    const string Llama3 = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    const string Qwen2 = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    const string Gpt2NoTrailing = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";

    /// <summary>The regex chain for a GGUF <c>tokenizer.ggml.pre</c> name, or null when the name is unknown.</summary>
    public static string[]? PatternsFor(string pre) => pre switch
    {
        "gpt-2" or "phi-2" or "mpt" or "olmo" or "jais" or "jina-es" or "jina-de" or "jina-v1-en" or "jina-v2-es"
            or "jina-v2-de" or "jina-v2-code" or "roberta-bpe" or "gigachat" or "exaone4" => [Gpt2],
        "llama3" or "llama-v3" or "llama-bpe" or "falcon3" or "falcon-h1" or "pixtral" or "dbrx" or "smaug-bpe" => [Llama3],
        "qwen2" or "deepseek-r1-qwen" or "stablelm2" or "megrez" => [Qwen2],
        "starcoder" or "refact" or "command-r" or "smollm" or "codeshell" or "exaone" or "minerva-7b" => [@"\p{N}", Gpt2NoTrailing],
        "falcon" => [@"[\p{P}\$\+<=>\^~\|`]+", @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)", "[0-9][0-9][0-9]"],
        // llama.cpp's fallback for BPE vocabularies without a recognised pre-tokenizer.
        "default" => [@"[\p{P}\$\+<=>\^~\|]+", Gpt2NoTrailing, @"\p{N}+", "[0-9][0-9][0-9]"],
        _ => null,
    };

    /// <summary>Whether llama.cpp encodes a word that is itself a vocabulary token directly, skipping merges (Llama 3's <c>ignore_merges</c>).</summary>
    public static bool IgnoresMerges(string pre) => pre is "llama3" or "llama-v3" or "llama-bpe" or "falcon3" or "falcon-h1" or "pixtral";

    /// <summary>The GGUF pre name for a regex chain read from tokenizer.json, when it is one llama.cpp knows.</summary>
    public static string NameFor(IReadOnlyList<string> patterns)
    {
        foreach (var name in new[] { "gpt-2", "llama-bpe", "qwen2" })
            if (PatternsFor(name)!.SequenceEqual(patterns)) return name;
        return patterns.Count == 1 && patterns[0] == Llama3Original ? "llama-bpe"
            : patterns.Count == 1 && patterns[0] == Qwen2Original ? "qwen2"
            : "default";
    }

    /// <summary>The patterns as Llama 3's and Qwen2's tokenizer.json spell them (llama.cpp rewrites the case-insensitive group).</summary>
    public const string Llama3Original = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    public const string Qwen2Original = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
}
