using System.Text;

namespace Sieve.Tokenization;

/// <summary>
/// Turns generated ids into text as they arrive. A character can be spread over several byte tokens (an emoji
/// is often four &lt;0xNN&gt; tokens), so bytes are held back until they form complete UTF-8; and, as in
/// <see cref="TextTokenizer.Decode"/>, the first piece with any bytes loses its leading space when the
/// tokenizer says so. Concatenating every <see cref="Append"/> result and <see cref="Flush"/> gives exactly
/// <see cref="TextTokenizer.Decode"/> of the same ids.
/// </summary>
/// <param name="atTextStart">
/// Whether the first id starts the text (nothing but BOS before it). A continuation of a prompt keeps its space.
/// </param>
public sealed class TokenStreamDecoder(TextTokenizer tokenizer, bool atTextStart = true)
{
    // The framework decoder keeps an incomplete trailing sequence between calls and emits U+FFFD for bytes
    // that can never become valid, which is the buffering we need.
    readonly Decoder _utf8 = new UTF8Encoding(false, false).GetDecoder();
    bool _first = atTextStart;
    char[] _chars = new char[64];

    /// <summary>Feeds one id; returns the text that is now complete (possibly empty).</summary>
    public string Append(int id)
    {
        var bytes = tokenizer.TokenBytes(id);
        if (bytes.IsEmpty) return "";
        if (_first && tokenizer.StripLeadingSpace && bytes[0] == (byte)' ') bytes = bytes[1..];
        _first = false;
        return Convert(bytes, flush: false);
    }

    /// <summary>Ends the stream: returns whatever is still held back, with incomplete bytes as U+FFFD.</summary>
    public string Flush() => Convert([], flush: true);

    /// <summary>Starts a new stream (the next piece is "first" again).</summary>
    public void Reset()
    {
        _utf8.Reset();
        _first = true;
    }

    string Convert(ReadOnlySpan<byte> bytes, bool flush)
    {
        int needed = _utf8.GetCharCount(bytes, flush);
        if (needed > _chars.Length) _chars = new char[Math.Max(needed, _chars.Length * 2)];
        int n = _utf8.GetChars(bytes, _chars, flush);
        return new string(_chars, 0, n);
    }
}
