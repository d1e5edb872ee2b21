using System.Buffers.Binary;
using System.Text;

namespace Sieve.Fuzz.Gguf;

/// <summary>
/// A GGUF file taken apart so that a mutation can change one field and the rest still lines up: header, metadata
/// entries, tensor directory, the padding alignment and the data. Every count and length that the file stores is
/// kept separately from the list it describes (null = consistent), so a mutation can make them disagree.
/// Values keep their encoded shape (<see cref="GgufValue.Shape"/>) apart from their type tag, so changing only the
/// tag makes the loader read the old bytes as the new type.
/// </summary>
public sealed class GgufDocument
{
    public uint Magic, Version;
    public ulong? TensorCountField, KvCountField;
    public List<GgufEntry> Entries = [];
    public List<GgufTensorEntry> Tensors = [];
    /// <summary>What the header is padded to before the data.</summary>
    public int PadTo;
    public byte[] Data = [];

    public GgufEntry? Entry(string key) => Entries.FirstOrDefault(e => e.Key == key);

    public static GgufDocument Parse(byte[] file)
    {
        var r = new Cursor(file);
        var d = new GgufDocument { Magic = r.U32(), Version = r.U32() };
        ulong tensors = r.U64(), kvs = r.U64();
        for (ulong i = 0; i < kvs; i++)
        {
            string key = r.Str();
            uint type = r.U32();
            d.Entries.Add(new GgufEntry(key, GgufValue.Read(r, type)));
        }
        for (ulong i = 0; i < tensors; i++)
        {
            var t = new GgufTensorEntry { Name = r.Str() };
            uint n = r.U32();
            for (int k = 0; k < n; k++) t.Dims.Add(r.U64());
            t.Type = r.U32();
            t.Offset = r.U64();
            d.Tensors.Add(t);
        }
        var align = d.Entry("general.alignment")?.Value;
        // Only a sane alignment is followed when re-padding (an earlier mutation may have stored 2^31 - 1 there).
        uint declared = align?.Scalar is { Length: 4 } a ? BinaryPrimitives.ReadUInt32LittleEndian(a) : 32;
        d.PadTo = declared is > 0 and <= 1 << 16 && (declared & (declared - 1)) == 0 ? (int)declared : 32;
        int dataStart = (r.Position + d.PadTo - 1) / d.PadTo * d.PadTo;
        d.Data = file[Math.Min(dataStart, file.Length)..];
        return d;
    }

    public byte[] ToBytes()
    {
        var w = new MemoryStream();
        var b = new BinaryWriter(w);
        b.Write(Magic);
        b.Write(Version);
        b.Write(TensorCountField ?? (ulong)Tensors.Count);
        b.Write(KvCountField ?? (ulong)Entries.Count);
        foreach (var e in Entries)
        {
            WriteString(b, Encoding.UTF8.GetBytes(e.Key), null);
            b.Write(e.Value.Type);
            e.Value.WritePayload(b);
        }
        foreach (var t in Tensors)
        {
            WriteString(b, Encoding.UTF8.GetBytes(t.Name), null);
            b.Write(t.NDimsField ?? (uint)t.Dims.Count);
            foreach (var dim in t.Dims) b.Write(dim);
            b.Write(t.Type);
            b.Write(t.Offset);
        }
        b.Flush();
        int pad = PadTo <= 0 ? 0 : (int)((PadTo - w.Length % PadTo) % PadTo);
        for (int i = 0; i < pad; i++) w.WriteByte(0);
        w.Write(Data);
        return w.ToArray();
    }

    internal static void WriteString(BinaryWriter b, byte[] bytes, ulong? lengthField)
    {
        b.Write(lengthField ?? (ulong)bytes.Length);
        b.Write(bytes);
    }

    internal sealed class Cursor(byte[] data)
    {
        public int Position;
        public ReadOnlySpan<byte> Take(int n) { var s = data.AsSpan(Position, n); Position += n; return s; }
        public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
        public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
        public string Str() => Encoding.UTF8.GetString(Take((int)U64()));
        public byte[] StrBytes() => Take((int)U64()).ToArray();
    }
}

public sealed class GgufEntry(string key, GgufValue value)
{
    public string Key { get; set; } = key;
    public GgufValue Value { get; set; } = value;
}

public enum ValueShape { Scalar, String, Array }

/// <summary>A metadata value: its type tag and its payload in the shape it was encoded with.</summary>
public sealed class GgufValue
{
    public uint Type;
    public ValueShape Shape;
    public byte[] Scalar = [];                    // Scalar: the raw little-endian bytes
    public byte[] Bytes = [];                     // String: the UTF-8 bytes
    public ulong? LengthField;                    // String: stored length when it disagrees
    public uint ElementType;                      // Array
    public ulong? CountField;                     // Array: stored count when it disagrees
    public List<GgufValue> Elements = [];         // Array: elements (their Type is the array's element type)

    public static int ScalarSize(uint type) => type switch
    {
        0 or 1 or 7 => 1,
        2 or 3 => 2,
        4 or 5 or 6 => 4,
        10 or 11 or 12 => 8,
        _ => -1,
    };

    internal static GgufValue Read(GgufDocument.Cursor r, uint type)
    {
        if (type == 8) return new GgufValue { Type = 8, Shape = ValueShape.String, Bytes = r.StrBytes() };
        if (type == 9)
        {
            uint et = r.U32();
            ulong n = r.U64();
            var v = new GgufValue { Type = 9, Shape = ValueShape.Array, ElementType = et };
            for (ulong i = 0; i < n; i++) v.Elements.Add(Read(r, et));
            return v;
        }
        int size = ScalarSize(type);
        if (size < 0) throw new InvalidDataException($"seed has unknown GGUF value type {type}");
        return new GgufValue { Type = type, Shape = ValueShape.Scalar, Scalar = r.Take(size).ToArray() };
    }

    public void WritePayload(BinaryWriter b)
    {
        switch (Shape)
        {
            case ValueShape.Scalar: b.Write(Scalar); break;
            case ValueShape.String: GgufDocument.WriteString(b, Bytes, LengthField); break;
            default:
                b.Write(ElementType);
                b.Write(CountField ?? (ulong)Elements.Count);
                foreach (var e in Elements) e.WritePayload(b);
                break;
        }
    }

    public GgufValue Clone() => new()
    {
        Type = Type, Shape = Shape, Scalar = (byte[])Scalar.Clone(), Bytes = (byte[])Bytes.Clone(), LengthField = LengthField,
        ElementType = ElementType, CountField = CountField, Elements = Elements.Select(e => e.Clone()).ToList(),
    };

    public static GgufValue Int(uint type, long v)
    {
        int size = ScalarSize(type);
        var bytes = new byte[size];
        for (int i = 0; i < size; i++) bytes[i] = (byte)(v >> (8 * i));
        return new GgufValue { Type = type, Shape = ValueShape.Scalar, Scalar = bytes };
    }

    public static GgufValue Float32(float f) => new() { Type = 6, Shape = ValueShape.Scalar, Scalar = BitConverter.GetBytes(f) };
    public static GgufValue Str(byte[] utf8) => new() { Type = 8, Shape = ValueShape.String, Bytes = utf8 };
    public static GgufValue Str(string s) => Str(Encoding.UTF8.GetBytes(s));

    /// <summary>The value read as an integer when it is a scalar (for "near the original" mutations).</summary>
    public long AsInteger()
    {
        if (Shape != ValueShape.Scalar) return 0;
        long v = 0;
        for (int i = 0; i < Scalar.Length && i < 8; i++) v |= (long)Scalar[i] << (8 * i);
        return v;
    }
}

public sealed class GgufTensorEntry
{
    public string Name = "";
    public uint? NDimsField;
    public List<ulong> Dims = [];
    public uint Type;
    public ulong Offset;

    public GgufTensorEntry Clone() => new() { Name = Name, NDimsField = NDimsField, Dims = [.. Dims], Type = Type, Offset = Offset };
}
