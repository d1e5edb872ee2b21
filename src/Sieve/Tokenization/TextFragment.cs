namespace Sieve.Tokenization;

/// <summary>A piece of input: either a run of raw text still to be encoded, or one special token already resolved.</summary>
public readonly record struct TextFragment(int Start, int Length, int TokenId)
{
    public bool IsToken => TokenId >= 0;
    public static TextFragment Text(int start, int length) => new(start, length, -1);
    public static TextFragment Token(int id) => new(0, 0, id);
}
