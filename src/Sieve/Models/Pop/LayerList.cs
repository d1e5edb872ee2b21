using System.Globalization;

namespace Sieve.Models.Pop;

/// <summary>Layer numbers written as a comma-separated list of numbers and inclusive ranges: "18-27", "3,5,7-9".</summary>
public static class LayerList
{
    /// <summary>The layers <paramref name="text"/> names, each checked against 0..<paramref name="layerCount"/>−1.</summary>
    public static int[] Parse(string text, int layerCount)
    {
        var layers = new List<int>();
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.All(p => p.Length == 0)) throw new ArgumentException("--pop-layers: no layers given (write e.g. 18-27 or 3,5,7-9)");
        foreach (var part in parts)
        {
            if (part.Length == 0) throw new ArgumentException($"--pop-layers '{text}': an empty item between commas");
            int dash = part.IndexOf('-', 1);
            int from = Number(dash < 0 ? part : part[..dash], text), to = dash < 0 ? from : Number(part[(dash + 1)..], text);
            if (to < from) throw new ArgumentException($"--pop-layers '{text}': the range {part} runs backwards");
            foreach (int l in new[] { from, to })
                if (l >= layerCount) throw new ArgumentException($"--pop-layers '{text}': layer {l} is outside the model's layers 0..{layerCount - 1}");
            for (int l = from; l <= to; l++) layers.Add(l);
        }
        return [.. layers.Distinct().Order()];
    }

    static int Number(string s, string text) =>
        int.TryParse(s.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int v)
            ? v : throw new ArgumentException($"--pop-layers '{text}': '{s.Trim()}' is not a layer number (0 or more)");

    /// <summary>Ascending layers as the shortest list of ranges: [3,4,5,9] → "3-5,9"; none → "none".</summary>
    public static string Format(IReadOnlyList<int> layers)
    {
        if (layers.Count == 0) return "none";
        var parts = new List<string>();
        for (int i = 0; i < layers.Count;)
        {
            int j = i;
            while (j + 1 < layers.Count && layers[j + 1] == layers[j] + 1) j++;
            parts.Add(j == i ? $"{layers[i]}" : $"{layers[i]}-{layers[j]}");
            i = j + 1;
        }
        return string.Join(",", parts);
    }
}
