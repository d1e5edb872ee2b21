using System.Globalization;
using System.Text;

namespace Sieve.Tokenization;

/// <summary>
/// Lets a UTF-16 regex see code points outside the Basic Multilingual Plane as one character of the right Unicode
/// category. .NET's regex works on UTF-16 code units, so 𝔘 (U+1D518, a letter) is two surrogates, each of
/// category Cs: \p{L}+ stops at it and [^\s\p{L}\p{N}]+ swallows it, while Hugging Face's and llama.cpp's
/// pre-tokenizers, which match code points, keep it in the word ("𝔘're" splits as 𝔘 + 're there, not 𝔘' + re).
/// Each surrogate pair is replaced by one BMP stand-in of the same general category, the regex runs on that, and
/// the pieces are mapped back to the original offsets.
/// </summary>
static class AstralFolding
{
    /// <summary>
    /// A BMP character of each general category that astral code points have, away from ASCII and from the CJK and
    /// kana ranges that some pre-tokenizer patterns name literally (DeepSeek's), so only \p{…} classes see it.
    /// </summary>
    static readonly Dictionary<UnicodeCategory, char> StandIns = new()
    {
        [UnicodeCategory.UppercaseLetter] = '\u0181',
        [UnicodeCategory.LowercaseLetter] = '\u0180',
        [UnicodeCategory.TitlecaseLetter] = '\u01C5',
        [UnicodeCategory.ModifierLetter] = '\u02B0',
        [UnicodeCategory.OtherLetter] = '\u01BB',
        [UnicodeCategory.NonSpacingMark] = '\u0300',
        [UnicodeCategory.SpacingCombiningMark] = '\u0903',
        [UnicodeCategory.EnclosingMark] = '\u20DD',
        [UnicodeCategory.DecimalDigitNumber] = '\u0660',
        [UnicodeCategory.LetterNumber] = '\u2160',
        [UnicodeCategory.OtherNumber] = '\u00B2',
        [UnicodeCategory.ConnectorPunctuation] = '\u203F',
        [UnicodeCategory.DashPunctuation] = '\u2010',
        [UnicodeCategory.OpenPunctuation] = '\u2045',
        [UnicodeCategory.ClosePunctuation] = '\u2046',
        [UnicodeCategory.InitialQuotePunctuation] = '\u2039',
        [UnicodeCategory.FinalQuotePunctuation] = '\u203A',
        [UnicodeCategory.OtherPunctuation] = '\u00B6',
        [UnicodeCategory.MathSymbol] = '\u00AC',
        [UnicodeCategory.CurrencySymbol] = '\u00A2',
        [UnicodeCategory.ModifierSymbol] = '\u02C2',
        [UnicodeCategory.OtherSymbol] = '\u00A9',
        [UnicodeCategory.Format] = '\u2060',
        [UnicodeCategory.PrivateUse] = '\uE000',
        [UnicodeCategory.OtherNotAssigned] = '\u0378',
    };

    internal static IReadOnlyDictionary<UnicodeCategory, char> StandInTable => StandIns;

    public static bool HasSurrogates(ReadOnlySpan<char> text) => text.IndexOfAnyInRange('\uD800', '\uDFFF') >= 0;

    /// <summary>
    /// The text with each surrogate pair folded to its stand-in, and for each folded index (plus one past the end)
    /// the offset in <paramref name="text"/> it came from. A lone surrogate is kept as it is.
    /// </summary>
    public static (string Folded, int[] Offsets) Fold(ReadOnlySpan<char> text)
    {
        var sb = new StringBuilder(text.Length);
        var offsets = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length;)
        {
            offsets.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var category = CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1]));
                if (StandIns.TryGetValue(category, out char standIn)) { sb.Append(standIn); i += 2; continue; }
                // No stand-in (no astral code point has such a category today): keep both halves.
                sb.Append(text[i]);
                offsets.Add(i + 1);
                sb.Append(text[i + 1]);
                i += 2;
                continue;
            }
            sb.Append(text[i]);
            i++;
        }
        offsets.Add(text.Length);
        return (sb.ToString(), offsets.ToArray());
    }
}
