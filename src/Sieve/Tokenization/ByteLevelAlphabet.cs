using System.Text;

namespace Sieve.Tokenization;

/// <summary>
/// GPT-2's byte ↔ character table: byte-level BPE vocabularies spell every byte as a printable character
/// (bytes that are printable Latin-1 stand for themselves; the others map to U+0100 onwards, so ' ' is 'Ġ' and
/// '\n' is 'Ċ'). Microsoft.ML.Tokenizers applies it inside BpeTokenizer but does not expose it, and we need it
/// per token for byte-exact decoding and streaming.
/// </summary>
static class ByteLevelAlphabet
{
    static readonly char[] ByteToChar = new char[256];
    static readonly Dictionary<char, byte> CharToByte = new();

    static ByteLevelAlphabet()
    {
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            ByteToChar[b] = printable ? (char)b : (char)next++;
            CharToByte[ByteToChar[b]] = (byte)b;
        }
    }

    public static char Encode(byte b) => ByteToChar[b];

    /// <summary>The byte-level spelling of <paramref name="text"/>'s UTF-8 bytes.</summary>
    public static string Encode(ReadOnlySpan<char> text)
    {
        int n = Encoding.UTF8.GetByteCount(text);
        var utf8 = new byte[n];
        Encoding.UTF8.GetBytes(text, utf8);
        return string.Create(n, utf8, static (dst, src) => { for (int i = 0; i < dst.Length; i++) dst[i] = ByteToChar[src[i]]; });
    }

    /// <summary>
    /// The bytes a byte-level token stands for. A character outside the table (it should not happen in a
    /// well-formed vocabulary) is kept as its own UTF-8 rather than dropped.
    /// </summary>
    public static byte[] Decode(string token)
    {
        var bytes = new List<byte>(token.Length);
        Span<byte> tmp = stackalloc byte[4];
        foreach (var rune in token.EnumerateRunes())
        {
            if (rune.IsBmp && CharToByte.TryGetValue((char)rune.Value, out byte b)) { bytes.Add(b); continue; }
            int n = rune.EncodeToUtf8(tmp);
            for (int i = 0; i < n; i++) bytes.Add(tmp[i]);
        }
        return bytes.ToArray();
    }
}
