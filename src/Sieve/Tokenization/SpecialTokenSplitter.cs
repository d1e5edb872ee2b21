namespace Sieve.Tokenization;

/// <summary>
/// Splits special tokens out of text before the model's encoder sees it, with llama.cpp's rules: user-defined
/// tokens are always split out (Hugging Face does the same with non-special added tokens); control and unknown
/// tokens only when <c>parseSpecial</c> is true; longer tokens are looked for first, each across the whole
/// text; a token marked lstrip/rstrip swallows the whitespace beside it.
/// </summary>
public static class SpecialTokenSplitter
{
    public static List<TextFragment> Split(string text, Vocabulary vocab, bool parseSpecial)
    {
        var fragments = new List<TextFragment>();
        if (text.Length == 0) return fragments;
        fragments.Add(TextFragment.Text(0, text.Length));

        foreach (int id in vocab.SpecialTokensLongestFirst)
        {
            if (!parseSpecial && vocab.TypeOf(id) != TokenType.UserDefined) continue;
            string special = vocab[id];
            // Rebuilt per token rather than edited in place, so that many occurrences cost linear time.
            List<TextFragment>? next = null;
            for (int f = 0; f < fragments.Count; f++)
            {
                var frag = fragments[f];
                int start = frag.Start, end = frag.Start + frag.Length;
                int at = frag.IsToken ? -1 : text.AsSpan(start, frag.Length).IndexOf(special, StringComparison.Ordinal);
                if (at < 0) { next?.Add(frag); continue; }
                next ??= new List<TextFragment>(fragments.Take(f));
                while (at >= 0)
                {
                    at += start;
                    int leftEnd = at;
                    if (vocab.StripsLeft(id)) while (leftEnd > start && IsCSpace(text[leftEnd - 1])) leftEnd--;
                    if (leftEnd > start) next.Add(TextFragment.Text(start, leftEnd - start));
                    next.Add(TextFragment.Token(id));
                    start = at + special.Length;
                    if (vocab.StripsRight(id)) while (start < end && IsCSpace(text[start])) start++;
                    at = start < end ? text.AsSpan(start, end - start).IndexOf(special, StringComparison.Ordinal) : -1;
                }
                if (end > start) next.Add(TextFragment.Text(start, end - start));
            }
            if (next != null) fragments = next;
        }
        return fragments;
    }

    // llama.cpp strips with C isspace(): space, \t, \n, \v, \f, \r.
    static bool IsCSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';
}
