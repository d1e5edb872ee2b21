using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Sieve.Formats;

namespace Sieve.Tokenization;

/// <summary>
/// A value read from a tokenizer JSON file together with the file and its key path
/// (<c>pre_tokenizer.pretokenizers[1].pattern</c>), so that every read checks the value's kind and a wrong one
/// becomes a <see cref="ModelFileException"/> naming both: "key 'normalizer.type': expected a string, found a
/// number". <see cref="JsonElement"/>'s own getters throw InvalidOperationException on a wrong kind or on an
/// escaped lone surrogate, and these files are untrusted input.
/// </summary>
/// <remarks>
/// An absent key and JSON <c>null</c> both read as missing: Hugging Face writes <c>null</c> for "none"
/// (<c>"normalizer": null</c>, <c>"unk_token": null</c>). Reading a property of a missing value gives a missing
/// value, so optional sub-trees need no checks of their own.
/// </remarks>
readonly struct JsonField(string file, string key, JsonElement value)
{
    /// <summary>
    /// Files larger than this are refused before reading: the largest real tokenizer.json files are ~35 MB (a
    /// 256k-token vocabulary), and parsing holds the bytes plus an index of about the same size.
    /// </summary>
    const long MaxFileBytes = 256L << 20;

    public string File => file;
    public string Key => key;
    public JsonValueKind Kind => value.ValueKind;
    public bool IsMissing => value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null;
    /// <summary>The raw element, for lenient probes that never throw (see <see cref="HasType"/>).</summary>
    public JsonElement Element => value;

    /// <summary>Reads and parses a JSON file: size bounded, UTF-8 checked up front (with the byte offset of the first bad byte).</summary>
    public static JsonDocument Parse(string path)
    {
        // Length from the opened file: through a symbolic link (the Hugging Face cache), FileInfo.Length is the link's.
        byte[] bytes = Sieve.Formats.ModelPath.ReadAllBytes(path, MaxFileBytes, $"a tokenizer or config file (at most {MaxFileBytes >> 20} MiB)");
        var utf8 = bytes.AsSpan();
        if (utf8.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) utf8 = utf8[3..];
        if (!Utf8.IsValid(utf8))
            throw new ModelFileException(path, $"is not valid UTF-8 (byte {bytes.Length - utf8.Length + FirstInvalidByte(utf8)} starts a bad sequence): corrupt file");
        try
        {
            return JsonDocument.Parse(bytes.AsMemory(bytes.Length - utf8.Length), new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e) { throw new ModelFileException(path, $"is not valid JSON ({e.Message}): truncated or corrupt", e); }
    }

    static int FirstInvalidByte(ReadOnlySpan<byte> utf8)
    {
        int at = 0;
        while (at < utf8.Length)
        {
            if (Rune.DecodeFromUtf8(utf8[at..], out _, out int used) != System.Buffers.OperationStatus.Done) return at;
            at += used;
        }
        return at;
    }

    public static JsonField Root(string file, JsonDocument doc) => new(file, "", doc.RootElement);

    public ModelFileException Bad(string problem) => new(file, key == "" ? problem : $"key '{key}': {problem}");

    /// <summary>"expected {what}, found a number" for this value.</summary>
    public ModelFileException Expected(string what) => Bad($"expected {what}, found {Describe()}");

    string Describe() => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => $"a number ({Shorten(value.GetRawText())})",
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";

    string Join(string name) => key == "" ? name : key + "." + name;

    /// <summary>The property <paramref name="name"/>; missing when absent or when this value is missing. Any other kind than an object is refused.</summary>
    public JsonField this[string name]
    {
        get
        {
            if (IsMissing) return new(file, Join(name), default);
            if (value.ValueKind != JsonValueKind.Object) throw Expected("an object");
            return new(file, Join(name), value.TryGetProperty(name, out var v) ? v : default);
        }
    }

    /// <summary>This value, which must be an object (or missing, when <paramref name="optional"/>).</summary>
    public JsonField Object(bool optional = false)
    {
        if (optional && IsMissing) return this;
        if (value.ValueKind != JsonValueKind.Object) throw Expected("an object");
        return this;
    }

    public string String() => OptionalString() ?? throw Expected("a string");

    public string? OptionalString()
    {
        if (IsMissing) return null;
        if (value.ValueKind != JsonValueKind.String) throw Expected("a string");
        return Text(value);
    }

    string Text(JsonElement e)
    {
        // The file is valid UTF-8 (checked in Parse); an escape such as "\ud800" can still name a lone surrogate,
        // which Hugging Face's own (Rust) reader refuses too.
        try { return e.GetString()!; }
        catch (InvalidOperationException) { throw Bad("the string is not valid Unicode (an escaped lone surrogate such as \\ud800)"); }
    }

    public bool? OptionalBool() => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Undefined or JsonValueKind.Null => null,
        _ => throw Expected("true or false"),
    };

    public bool Bool(bool fallback) => OptionalBool() ?? fallback;

    /// <summary>A token id: an integer in 0..int.MaxValue.</summary>
    public int Id()
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long id)) throw Expected("an integer id");
        if (id < 0) throw Bad($"has id {id} (a non-negative integer id is needed)");
        if (id > int.MaxValue) throw Bad($"id {id} is out of range");
        return (int)id;
    }

    /// <summary>The elements of an array; a missing value is refused unless <paramref name="optional"/> (then none).</summary>
    public IEnumerable<JsonField> Items(bool optional = false)
    {
        if (optional && IsMissing) return [];
        if (value.ValueKind != JsonValueKind.Array) throw Expected("an array");
        return ItemsOf(file, key, value);
    }

    static IEnumerable<JsonField> ItemsOf(string file, string key, JsonElement array)
    {
        int i = 0;
        foreach (var e in array.EnumerateArray()) yield return new(file, $"{key}[{i++}]", e);
    }

    public int Length => value.ValueKind == JsonValueKind.Array ? value.GetArrayLength() : throw Expected("an array");

    /// <summary>The (name, value) pairs of an object, names checked to be valid Unicode.</summary>
    public IEnumerable<(string Name, JsonField Value)> Properties()
    {
        if (value.ValueKind != JsonValueKind.Object) throw Expected("an object");
        return PropertiesOf(this);
    }

    static IEnumerable<(string, JsonField)> PropertiesOf(JsonField o)
    {
        foreach (var p in o.Element.EnumerateObject())
        {
            string name;
            try { name = p.Name; }
            catch (InvalidOperationException) { throw o.Bad("a key is not valid Unicode (an escaped lone surrogate such as \\ud800)"); }
            yield return (name, new(o.File, o.Join(name), p.Value));
        }
    }

    /// <summary>
    /// Whether this is an object whose "type" is <paramref name="type"/>: a probe that never throws, for deciding which
    /// reader applies; the reader then checks every kind.
    /// </summary>
    public static bool HasType(JsonElement e, string type)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("type", out var t) || t.ValueKind != JsonValueKind.String) return false;
        try { return t.ValueEquals(type); }
        catch (InvalidOperationException) { return false; }
    }
}
