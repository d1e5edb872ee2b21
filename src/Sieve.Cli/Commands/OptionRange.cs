using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Sieve.Cli.Commands;

/// <summary>
/// The valid range of every numeric option, checked while parsing: a value outside it (or one that is not a number,
/// or NaN/∞) becomes one parse error naming the option as typed and the value, which <see cref="ParseErrors"/> prints
/// as one line with exit code 1 before any model is loaded. Declare a range where the option is made
/// (<c>new Option&lt;int&gt;("-n") { … }.AtLeast(0)</c>); <see cref="ApplyDefaults"/> gives every numeric option
/// left without one the default: a count (never negative) or a finite, non-negative number.
/// </summary>
static class OptionRange
{
    /// <summary>Whole numbers from <paramref name="min"/> to <paramref name="max"/>; <paramref name="rule"/> says so in words when set.</summary>
    public static Option<int> Within(this Option<int> o, int min, int max, string? rule = null)
    {
        o.CustomParser = r => ParseInt(r, min, max, rule) ?? 0;
        return o;
    }

    public static Option<int> AtLeast(this Option<int> o, int min, string? rule = null) => o.Within(min, int.MaxValue, rule);

    /// <summary>llama.cpp's counts with -1 for "no limit" (-n, --repeat-last-n): -1, or <paramref name="min"/> or more.</summary>
    public static Option<int> AtLeastOrMinusOne(this Option<int> o, int min, string rule)
    {
        o.CustomParser = r =>
        {
            int? v = ParseInt(r, -1, int.MaxValue, rule);
            if (v is { } x && x != -1 && x < min) { r.AddError($"{Name(r)} {x}: {rule}"); return 0; }
            return v ?? 0;
        };
        return o;
    }

    public static Option<int?> AtLeast(this Option<int?> o, int min, string? rule = null)
    {
        o.CustomParser = r => ParseInt(r, min, int.MaxValue, rule);
        return o;
    }

    /// <summary>Finite numbers from <paramref name="min"/> to <paramref name="max"/>; <paramref name="aboveMin"/> excludes <paramref name="min"/> itself.</summary>
    public static Option<float> Within(this Option<float> o, float min, float max, bool aboveMin = false, string? rule = null)
    {
        o.CustomParser = r => (float)(ParseReal(r, min, max, aboveMin, rule) ?? 0);
        return o;
    }

    public static Option<double> Within(this Option<double> o, double min, double max, bool aboveMin = false, string? rule = null)
    {
        o.CustomParser = r => ParseReal(r, min, max, aboveMin, rule) ?? 0;
        return o;
    }

    /// <summary>llama.cpp's seed: -1 (its default) for a random one, or a number from 0 to 2^63−1.</summary>
    public static Option<long> Seed(this Option<long> o)
    {
        o.CustomParser = r => ParseLong(r, -1, long.MaxValue, $"a seed is a whole number from 0 to {long.MaxValue}, or -1 for a random one") ?? -1;
        return o;
    }

    /// <summary>Strings that must not be empty (an empty stop string would match before every token).</summary>
    public static Option<string[]> NoneEmpty(this Option<string[]> o, string why)
    {
        o.Validators.Add(r =>
        {
            if (r.Tokens.Any(t => t.Value.Length == 0)) r.AddError($"{Name(r)} \"\": {why}");
        });
        return o;
    }

    /// <summary>
    /// The default range for every numeric option of <paramref name="root"/>'s tree that declares none: whole numbers
    /// are counts (0 or more), real numbers finite and 0 or more. Commands whose options mean something below zero
    /// declare it; none may fall through to a parse error that names a .NET type.
    /// </summary>
    public static void ApplyDefaults(Command root)
    {
        foreach (var o in root.Options)
        {
            switch (o)
            {
                case Option<int> i when i.CustomParser == null: i.AtLeast(0); break;
                case Option<int?> i when i.CustomParser == null: i.AtLeast(0); break;
                case Option<long> l when l.CustomParser == null: l.CustomParser = r => ParseLong(r, 0, long.MaxValue, null) ?? 0; break;
                case Option<float> f when f.CustomParser == null: f.Within(0, float.MaxValue); break;
                case Option<double> d when d.CustomParser == null: d.Within(0, double.MaxValue); break;
            }
        }
        foreach (var c in root.Subcommands) ApplyDefaults(c);
    }

    static int? ParseInt(ArgumentResult r, int min, int max, string? rule) => (int?)ParseLong(r, min, max, rule);

    static long? ParseLong(ArgumentResult r, long min, long max, string? rule)
    {
        string text = Text(r);
        rule ??= max == long.MaxValue || max == int.MaxValue
            ? $"must be a whole number, {min} or more"
            : $"must be a whole number from {min} to {max}";
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite,
                CultureInfo.InvariantCulture, out long v) || v < min || v > max)
        {
            r.AddError($"{Name(r)} {Quote(text)}: {rule}");
            return null;
        }
        return v;
    }

    static double? ParseReal(ArgumentResult r, double min, double max, bool aboveMin, string? rule)
    {
        string text = Text(r);
        rule ??= (aboveMin, max >= float.MaxValue) switch
        {
            (false, true) => $"must be a finite number, {min} or more",
            (true, true) => $"must be a finite number above {min}",
            (false, false) => $"must be a number from {min} to {max}",
            (true, false) => $"must be a number above {min} and at most {max}",
        };
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v)
            || v < min || v > max || (aboveMin && v == min))
        {
            r.AddError($"{Name(r)} {Quote(text)}: {rule}");
            return null;
        }
        return v;
    }

    /// <summary>The option's value as typed (its last token, for an option given twice).</summary>
    static string Text(ArgumentResult r) => r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";

    /// <summary>The option as the user spelled it (-n or --n-predict).</summary>
    static string Name(SymbolResult r) => r switch
    {
        OptionResult o => o.IdentifierToken?.Value ?? o.Option.Name,
        { Parent: OptionResult o } => o.IdentifierToken?.Value ?? o.Option.Name,
        ArgumentResult a => a.Argument.Name,
        _ => "value",
    };

    static string Quote(string text) => text.Length == 0 || text.Any(char.IsWhiteSpace) ? $"\"{text}\"" : text;
}
