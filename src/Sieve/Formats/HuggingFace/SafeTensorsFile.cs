using System.Buffers.Binary;
using System.Text.Json;
using Sieve.Tensors;

namespace Sieve.Formats.HuggingFace;

/// <summary>One entry of a safetensors header. <see cref="Begin"/>/<see cref="End"/> are relative to the data section.</summary>
public sealed record SafeTensorInfo(string Name, string Dtype, long[] Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// A <c>.safetensors</c> file, memory-mapped: an 8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range, then the raw data. The header is checked whole at open — every range in
/// the file and of exactly shape × dtype size — so views handed out later need no further checks.
/// </summary>
public sealed unsafe class SafeTensorsFile : IDisposable, IWeightStorage
{
    // The reference implementation refuses headers over 100 MB; real ones are well under 1 MB per 1000 tensors.
    const long MaxHeaderBytes = 100_000_000;

    readonly MappedFile _file;
    readonly Dictionary<string, SafeTensorInfo> _tensors;

    public string Path => _file.Path;
    public long FileLength => _file.Length;
    public long DataOffset { get; }
    public IReadOnlyDictionary<string, SafeTensorInfo> Tensors => _tensors;
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Bytes per element of every dtype the format defines; only F32, F16 and BF16 can be used as weights.</summary>
    static readonly Dictionary<string, int> DtypeBytes = new(StringComparer.Ordinal)
    {
        ["BOOL"] = 1, ["U8"] = 1, ["I8"] = 1, ["F8_E4M3"] = 1, ["F8_E5M2"] = 1,
        ["I16"] = 2, ["U16"] = 2, ["F16"] = 2, ["BF16"] = 2,
        ["I32"] = 4, ["U32"] = 4, ["F32"] = 4,
        ["I64"] = 8, ["U64"] = 8, ["F64"] = 8,
    };

    public static GgmlType? WeightType(string dtype) => dtype switch
    {
        "F32" => GgmlType.F32,
        "F16" => GgmlType.F16,
        "BF16" => GgmlType.BF16,
        _ => null,
    };

    public static SafeTensorsFile Open(string path) => new(new MappedFile(path));

    SafeTensorsFile(MappedFile file)
    {
        _file = file;
        try
        {
            if (file.Length < 8) throw Bad($"only {file.Length} bytes: too short for a safetensors file (truncated)");
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file.Span(0, 8));
            if (headerLength > (ulong)(file.Length - 8))
                throw Bad($"header length {headerLength} runs past the end of the file ({file.Length} bytes): truncated or not a safetensors file");
            if (headerLength > MaxHeaderBytes) throw Bad($"header length {headerLength} is implausibly large: corrupt file");
            DataOffset = 8 + (long)headerLength;
            (_tensors, Metadata) = ParseHeader(file.Span(8, (int)headerLength), file.Length - DataOffset);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or OverflowException or ArgumentException)
        {
            file.Dispose();
            throw new ModelFileException(file.Path, $"safetensors header is malformed: {e.Message}", e);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    ModelFileException Bad(string problem) => new(_file.Path, problem);

    (Dictionary<string, SafeTensorInfo>, Dictionary<string, string>) ParseHeader(ReadOnlySpan<byte> json, long dataLength)
    {
        var tensors = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        using var doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad("safetensors header is not a JSON object");
        foreach (var entry in doc.RootElement.EnumerateObject())
        {
            string name = entry.Name;
            var v = entry.Value;
            if (name == "__metadata__")
            {
                if (v.ValueKind != JsonValueKind.Object) throw Bad("'__metadata__' is not an object");
                foreach (var m in v.EnumerateObject())
                    metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                continue;
            }
            if (v.ValueKind != JsonValueKind.Object) throw Bad($"tensor '{name}' entry is not an object");
            if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String) throw Bad($"tensor '{name}' has no dtype");
            if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array) throw Bad($"tensor '{name}' has no shape");
            if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
                throw Bad($"tensor '{name}' has no [begin, end] data_offsets");
            string dtype = dt.GetString()!;
            if (sh.GetArrayLength() > 8) throw Bad($"tensor '{name}' has {sh.GetArrayLength()} dimensions");
            var shape = new long[sh.GetArrayLength()];
            int d = 0;
            foreach (var n in sh.EnumerateArray())
            {
                if (n.ValueKind != JsonValueKind.Number || !n.TryGetInt64(out long x) || x < 0) throw Bad($"tensor '{name}' has a bad dimension {n.GetRawText()}");
                shape[d++] = x;
            }
            if (off[0].ValueKind != JsonValueKind.Number || !off[0].TryGetInt64(out long begin)
                || off[1].ValueKind != JsonValueKind.Number || !off[1].TryGetInt64(out long end))
                throw Bad($"tensor '{name}' data_offsets are not integers");
            if (begin < 0 || end < begin || end > dataLength)
                throw Bad($"tensor '{name}' data [{begin}, {end}) lies outside the {dataLength} data bytes: truncated or corrupt");
            if (DtypeBytes.TryGetValue(dtype, out int size))
            {
                long elements = 1;
                foreach (var x in shape) elements = checked(elements * x);
                long bytes = checked(elements * size);
                if (bytes != end - begin)
                    throw Bad($"tensor '{name}' is {dtype}[{string.Join(", ", shape)}] = {bytes} bytes but data_offsets span {end - begin}");
            }
            if (!tensors.TryAdd(name, new SafeTensorInfo(name, dtype, shape, begin, end))) throw Bad($"tensor '{name}' appears twice");
        }
        return (tensors, metadata);
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>
    /// The tensor as a rows × cols view in the map: a 2-D [out, in] tensor as is, a 1-D one as a single row.
    /// Only F32, F16 and BF16 can be viewed; other dtypes are refused by name.
    /// </summary>
    public WeightTensor View(string name)
    {
        if (!_tensors.TryGetValue(name, out var t)) throw Bad($"tensor '{name}' is missing");
        var type = WeightType(t.Dtype) ?? throw Bad($"tensor '{name}' has dtype {t.Dtype}, which Sieve does not support (F32, F16 and BF16 are)");
        if (t.Shape.Length is 0 or > 2) throw Bad($"tensor '{name}' has {t.Shape.Length} dimensions; 1 or 2 are expected");
        long rows = t.Shape.Length == 2 ? t.Shape[0] : 1, cols = t.Shape[^1];
        if (rows == 0 || cols == 0 || rows > int.MaxValue || cols > int.MaxValue) throw Bad($"tensor '{name}' has shape [{string.Join(", ", t.Shape)}]");
        return new WeightTensor(name, type, (int)rows, (int)cols, _file.Pointer + DataOffset + t.Begin, this);
    }

    bool IWeightStorage.Covers(WeightTensor t) => ((IWeightStorage)_file).Covers(t);

    public void Dispose() => _file.Dispose();
}
