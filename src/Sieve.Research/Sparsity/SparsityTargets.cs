using System.Globalization;

namespace Sieve.Sparsity;

/// <summary>Parses a target sparsity as the CLI takes it: one value for every layer, or a comma list with one per layer.</summary>
public static class SparsityTargets
{
    /// <param name="option">The option as the user typed it, for messages (--sparsity).</param>
    public static float[] Parse(string text, int layerCount, string option = "--sparsity")
    {
        var values = List(text, option);
        if (values.Length == 1) return Enumerable.Repeat(values[0], layerCount).ToArray();
        if (values.Length != layerCount)
            throw new ArgumentException($"{option} {text}: {values.Length} values for a model of {layerCount} layers (give one value, or one per layer)");
        return values;
    }

    /// <summary>Comma-separated values, each in [0, 1).</summary>
    public static float[] List(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length == 0 || parts.All(p => p.Length == 0)) throw new ArgumentException($"{option}: give a sparsity in [0, 1), e.g. 0.5");
        return parts.Select(p =>
        {
            if (!float.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out float s) || !float.IsFinite(s))
                throw new ArgumentException($"{option} {text}: '{p}' is not a number");
            if (!(s >= 0 && s < 1)) throw new ArgumentException($"{option} {p}: a sparsity must be in [0, 1)");
            return s;
        }).ToArray();
    }

    /// <summary>Method names, comma-separated (cats, chess, chess+, teal).</summary>
    public static SparsityMethod[] Methods(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new ArgumentException($"{option}: give a method (cats, chess, chess+ or teal)");
        var methods = parts.Select(p => SparsityMethods.TryParse(p, out var m) ? m : throw new ArgumentException($"{option} {p}: not a method (cats, chess, chess+ or teal)")).ToArray();
        if (methods.Distinct().Count() != methods.Length) throw new ArgumentException($"{option} {text}: a method is listed twice");
        return methods;
    }
}
