using Sieve.Formats;

namespace Sieve.Tokenization;

/// <summary>
/// Typed reads from a GGUF-style metadata dictionary, accepting the integer widths GGUF allows and naming the
/// source file and key when a value has the wrong type. (GgufFile has the same getters, but the tokenizer is
/// also built from dictionaries that did not come from a file.)
/// </summary>
sealed class MetadataValues(IReadOnlyDictionary<string, object> meta, string source)
{
    public string Source => source;

    public string? String(string key) => meta.TryGetValue(key, out var v)
        ? v as string ?? throw Bad($"'{key}' should be a string but is {v.GetType().Name}") : null;

    public long? Int(string key)
    {
        if (!meta.TryGetValue(key, out var v)) return null;
        return v switch
        {
            byte or sbyte or ushort or short or uint or int or long => Convert.ToInt64(v),
            ulong u => u > long.MaxValue ? throw Bad($"'{key}' value {u} is out of range") : (long)u,
            _ => throw Bad($"'{key}' should be an integer but is {v.GetType().Name}"),
        };
    }

    public bool? Bool(string key) => meta.TryGetValue(key, out var v) ? v switch
    {
        bool b => b,
        byte or sbyte or int or uint => Convert.ToInt64(v) != 0,
        _ => throw Bad($"'{key}' should be a bool but is {v.GetType().Name}"),
    } : null;

    public string[]? Strings(string key) => meta.TryGetValue(key, out var v)
        ? v as string[] ?? throw Bad($"'{key}' should be an array of strings but is {v.GetType().Name}") : null;

    public float[]? Floats(string key) => meta.TryGetValue(key, out var v) ? v switch
    {
        float[] f => f,
        double[] d => d.Select(x => (float)x).ToArray(),
        _ => throw Bad($"'{key}' should be an array of floats but is {v.GetType().Name}"),
    } : null;

    /// <summary>An integer array of any GGUF width; a value outside Int32 is refused, not wrapped.</summary>
    public int[]? Ints(string key) => meta.TryGetValue(key, out var v) ? v switch
    {
        int[] i => i,
        byte[] or sbyte[] or ushort[] or short[] => ((Array)v).Cast<object>().Select(Convert.ToInt32).ToArray(),
        uint[] u => u.Select(x => x <= int.MaxValue ? (int)x : throw OutOfRange(key, x)).ToArray(),
        long[] l => l.Select(x => x is >= int.MinValue and <= int.MaxValue ? (int)x : throw OutOfRange(key, x)).ToArray(),
        ulong[] u => u.Select(x => x <= int.MaxValue ? (int)x : throw OutOfRange(key, x)).ToArray(),
        _ => throw Bad($"'{key}' should be an array of integers but is {v.GetType().Name}"),
    } : null;

    ModelFileException OutOfRange(string key, object value) => Bad($"'{key}' holds {value}, outside the 32-bit range");

    public ModelFileException Bad(string problem) => new(source, problem);
}
