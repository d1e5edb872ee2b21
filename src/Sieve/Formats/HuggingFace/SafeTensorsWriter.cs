using System.Text;
using System.Text.Json;
using Sieve.Tensors;

namespace Sieve.Formats.HuggingFace;

/// <summary>
/// Writes a <c>.safetensors</c> file: the JSON header (every tensor's dtype, shape and byte range, computed up
/// front), padded with spaces to 8 bytes, then each tensor's bytes streamed from a callback in order.
/// </summary>
public sealed class SafeTensorsWriter
{
    sealed record Pending(string Name, string Dtype, long[] Shape, long Bytes, Action<Stream> Write);

    readonly List<Pending> _tensors = [];
    readonly Dictionary<string, string> _metadata = new() { ["format"] = "pt" };

    public void SetMetadata(string key, string value) => _metadata[key] = value;

    /// <summary>Adds a tensor of an F32, F16 or BF16 <paramref name="type"/>; <paramref name="write"/> must write exactly its bytes.</summary>
    public void Add(string name, GgmlType type, long[] shape, Action<Stream> write)
    {
        string dtype = type switch
        {
            GgmlType.F32 => "F32",
            GgmlType.F16 => "F16",
            GgmlType.BF16 => "BF16",
            _ => throw new ArgumentException($"safetensors cannot hold {type} tensors"),
        };
        if (name == "__metadata__" || _tensors.Any(t => t.Name == name)) throw new ArgumentException($"tensor name '{name}' is taken");
        long elements = shape.Aggregate(1L, (a, b) => checked(a * b));
        _tensors.Add(new Pending(name, dtype, (long[])shape.Clone(), checked(elements * TypeTraits.Of(type).BlockBytes), write));
    }

    public void Write(string path, IProgress<double>? progress = null) => AtomicFile.Write(path, fs => Write(fs, progress));

    public void Write(Stream output, IProgress<double>? progress = null)
    {
        var json = new MemoryStream();
        using (var j = new Utf8JsonWriter(json))
        {
            j.WriteStartObject();
            j.WriteStartObject("__metadata__");
            foreach (var (k, v) in _metadata) j.WriteString(k, v);
            j.WriteEndObject();
            long offset = 0;
            foreach (var t in _tensors)
            {
                j.WriteStartObject(t.Name);
                j.WriteString("dtype", t.Dtype);
                j.WriteStartArray("shape");
                foreach (var d in t.Shape) j.WriteNumberValue(d);
                j.WriteEndArray();
                j.WriteStartArray("data_offsets");
                j.WriteNumberValue(offset);
                j.WriteNumberValue(offset + t.Bytes);
                j.WriteEndArray();
                j.WriteEndObject();
                offset += t.Bytes;
            }
            j.WriteEndObject();
        }
        // Pad with spaces (still valid JSON) so the data starts 8-byte aligned.
        while (json.Length % 8 != 0) json.WriteByte((byte)' ');
        output.Write(BitConverter.GetBytes((ulong)json.Length));
        json.Position = 0;
        json.CopyTo(output);

        long total = Math.Max(1, _tensors.Sum(t => t.Bytes)), done = 0;
        foreach (var t in _tensors)
        {
            long before = output.CanSeek ? output.Position : -1;
            t.Write(output);
            if (before >= 0 && output.Position - before != t.Bytes)
                throw new InvalidOperationException($"tensor '{t.Name}': wrote {output.Position - before} bytes, its shape needs {t.Bytes}");
            done += t.Bytes;
            progress?.Report((double)done / total);
        }
        output.Flush();
    }
}
