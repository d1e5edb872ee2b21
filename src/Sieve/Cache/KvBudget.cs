using System.Globalization;

namespace Sieve.Cache;

/// <summary>
/// How many cached tokens a selector or press keeps: a fixed count ("100") or a fraction of the tokens cached at
/// that moment ("0.25" or "25%"), as kvpress users asked for both (kvpress#102).
/// </summary>
public readonly record struct KvBudget(int Tokens, double Fraction)
{
    public static KvBudget OfTokens(int tokens) => new(Math.Max(0, tokens), 0);
    public static KvBudget OfFraction(double fraction) => new(0, Math.Clamp(fraction, 0, 1));

    public bool IsFraction => Fraction > 0;

    /// <summary>Tokens to keep out of <paramref name="cached"/>, never more than <paramref name="available"/>.</summary>
    public int Resolve(int cached, int available) =>
        Math.Clamp(IsFraction ? (int)Math.Ceiling(Fraction * cached) : Tokens, 0, Math.Max(0, available));

    public static KvBudget Parse(string s)
    {
        s = s.Trim();
        if (s.EndsWith('%') && double.TryParse(s[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var pct) && pct > 0 && pct <= 100)
            return OfFraction(pct / 100);
        if (int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0) return OfTokens(n);
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && f > 0 && f < 1) return OfFraction(f);
        throw new ArgumentException($"budget '{s}' is neither a token count (e.g. 100) nor a fraction (e.g. 0.25 or 25%)");
    }

    public override string ToString() => IsFraction ? $"{Fraction * 100:0.##}%" : $"{Tokens}";
}
