using System.Text.Json;

namespace Sieve.Serving.Api;

/// <summary>
/// Typed reads of one JSON object's fields, each refusing a wrong type or range with a 400 that names the field
/// (as <c>parent.field</c> inside nested objects). Absent and null both read as "not given".
/// </summary>
readonly struct JsonFields(JsonElement obj, string path = "")
{
    public JsonElement Object => obj;

    string Name(string field) => path.Length == 0 ? field : $"{path}.{field}";

    public static JsonFields Of(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object) throw ApiException.Invalid($"'{path}' must be an object", path);
        return new JsonFields(e, path);
    }

    public bool Has(string field) => obj.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null;

    public JsonElement? Element(string field) => obj.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public string? String(string field)
    {
        if (Element(field) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.String) throw ApiException.Invalid($"'{Name(field)}' must be a string", Name(field));
        return v.GetString();
    }

    public bool? Bool(string field)
    {
        if (Element(field) is not { } v) return null;
        if (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) throw ApiException.Invalid($"'{Name(field)}' must be true or false", Name(field));
        return v.GetBoolean();
    }

    public long? Integer(string field, long min, long max)
    {
        if (Element(field) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long n))
        {
            // 5.0 is a whole number a JavaScript client may well send; 5.5 is not.
            if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && d == Math.Floor(d) && Math.Abs(d) < 9e15) n = (long)d;
            else throw ApiException.Invalid($"'{Name(field)}' must be an integer", Name(field));
        }
        if (n < min || n > max) throw ApiException.Invalid($"'{Name(field)}' is {n}; it must be from {min} to {max}", Name(field));
        return n;
    }

    public int? Int(string field, int min, int max) => (int?)Integer(field, min, max);

    public double? Number(string field, double min, double max)
    {
        if (Element(field) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double d) || !double.IsFinite(d))
            throw ApiException.Invalid($"'{Name(field)}' must be a number", Name(field));
        if (d < min || d > max) throw ApiException.Invalid($"'{Name(field)}' is {d}; it must be from {min} to {max}", Name(field));
        return d;
    }

    /// <summary>Refuses any field of this object not in <paramref name="known"/> (for Sieve's own extension object, whose names we own).</summary>
    public void OnlyKnown(params string[] known)
    {
        foreach (var p in obj.EnumerateObject())
            if (Array.IndexOf(known, p.Name) < 0)
                throw ApiException.Invalid($"'{Name(p.Name)}' is not a known field (known: {string.Join(", ", known)})", Name(p.Name));
    }
}
