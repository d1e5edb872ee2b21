namespace Sieve.Eval.Tasks;

/// <summary>A Thrift struct as read by <see cref="ParquetThrift"/>: its fields by id (long, bool, byte count, list or struct).</summary>
public sealed class ThriftStruct
{
    internal readonly Dictionary<short, object> Fields = [];

    public long? Long(short id) => Fields.TryGetValue(id, out var v) && v is long l ? l : null;
    public ThriftStruct? Struct(short id) => Fields.TryGetValue(id, out var v) ? v as ThriftStruct : null;
    public IReadOnlyList<object> List(short id) => Fields.TryGetValue(id, out var v) && v is List<object> l ? l : [];
    public string? Text(short id) => Fields.TryGetValue(id, out var v) ? v as string : null;
    public bool Has(short id) => Fields.ContainsKey(id);
}

/// <summary>
/// A strict reader of the Thrift compact protocol for Parquet's footer and page headers, run before Parquet.Net sees
/// a file. Parquet.Net 6.1 reads these structures trustingly: a read past the end returns byte 0xFF forever (a varint
/// or a struct skip then loops without end), a list header's count becomes <c>new List&lt;T&gt;(count)</c> before any
/// element is read, a binary length becomes an array of that length, and a field is read by its id whatever type the
/// wire says. This reader refuses each of those, so a footer it accepts is parsed by Parquet.Net the same way, with
/// allocations bounded by the bytes present.
/// </summary>
public static class ParquetThrift
{
    /// <summary>Wire types of the compact protocol (Thrift's TCompactProtocol).</summary>
    enum Wire : byte { Stop = 0, True = 1, False = 2, Byte = 3, I16 = 4, I32 = 5, I64 = 6, Double = 7, Binary = 8, List = 9, Set = 10, Map = 11, Struct = 12 }

    /// <summary>A field as Parquet.Net's generated reader expects it: its wire type, and for lists the element's.</summary>
    sealed record Field(Wire Type, Wire Element = Wire.Stop, string? Struct = null);

    static Field I32 => new(Wire.I32);
    static Field I64 => new(Wire.I64);
    static Field Bin => new(Wire.Binary);
    static Field Bool => new(Wire.True);
    static Field Dbl => new(Wire.Double);
    static Field S(string name) => new(Wire.Struct, Struct: name);
    static Field ListOf(string name) => new(Wire.List, Wire.Struct, name);
    static Field ListOf(Wire element) => new(Wire.List, element);

    /// <summary>
    /// Every struct reachable from FileMetaData and PageHeader, with the fields Parquet.Net 6.1 reads (its
    /// Meta/Parquet.cs). Encryption structs are left out: an encrypted file is refused.
    /// </summary>
    static readonly Dictionary<string, Dictionary<short, Field>> Schema = new()
    {
        ["FileMetaData"] = new() { [1] = I32, [2] = ListOf("SchemaElement"), [3] = I64, [4] = ListOf("RowGroup"), [5] = ListOf("KeyValue"), [6] = Bin, [7] = ListOf("ColumnOrder"), [9] = Bin },
        ["SchemaElement"] = new() { [1] = I32, [2] = I32, [3] = I32, [4] = Bin, [5] = I32, [6] = I32, [7] = I32, [8] = I32, [9] = I32, [10] = S("LogicalType") },
        ["LogicalType"] = new()
        {
            [1] = S("Empty"), [2] = S("Empty"), [3] = S("Empty"), [4] = S("Empty"), [5] = S("DecimalType"), [6] = S("Empty"), [7] = S("TimeType"),
            [8] = S("TimeType"), [10] = S("IntType"), [11] = S("Empty"), [12] = S("Empty"), [13] = S("Empty"), [14] = S("Empty"), [15] = S("Empty"),
            [16] = S("VariantType"), [17] = S("GeometryType"), [18] = S("GeographyType"),
        },
        ["Empty"] = new(),
        ["DecimalType"] = new() { [1] = I32, [2] = I32 },
        ["TimeType"] = new() { [1] = Bool, [2] = S("TimeUnit") },
        ["TimeUnit"] = new() { [1] = S("Empty"), [2] = S("Empty"), [3] = S("Empty") },
        ["IntType"] = new() { [1] = new(Wire.Byte), [2] = Bool },
        ["VariantType"] = new() { [1] = new(Wire.Byte) },
        ["GeometryType"] = new() { [1] = Bin },
        ["GeographyType"] = new() { [1] = Bin, [2] = I32 },
        ["KeyValue"] = new() { [1] = Bin, [2] = Bin },
        ["ColumnOrder"] = new() { [1] = S("Empty") },
        ["RowGroup"] = new() { [1] = ListOf("ColumnChunk"), [2] = I64, [3] = I64, [4] = ListOf("SortingColumn"), [5] = I64, [6] = I64, [7] = new(Wire.I16) },
        ["SortingColumn"] = new() { [1] = I32, [2] = Bool, [3] = Bool },
        ["ColumnChunk"] = new() { [1] = Bin, [2] = I64, [3] = S("ColumnMetaData"), [4] = I64, [5] = I32, [6] = I64, [7] = I32, [9] = Bin },
        ["ColumnMetaData"] = new()
        {
            [1] = I32, [2] = ListOf(Wire.I32), [3] = ListOf(Wire.Binary), [4] = I32, [5] = I64, [6] = I64, [7] = I64, [8] = ListOf("KeyValue"),
            [9] = I64, [10] = I64, [11] = I64, [12] = S("Statistics"), [13] = ListOf("PageEncodingStats"), [14] = I64, [15] = I32,
            [16] = S("SizeStatistics"), [17] = S("GeospatialStatistics"),
        },
        ["Statistics"] = new() { [1] = Bin, [2] = Bin, [3] = I64, [4] = I64, [5] = Bin, [6] = Bin, [7] = Bool, [8] = Bool },
        ["PageEncodingStats"] = new() { [1] = I32, [2] = I32, [3] = I32 },
        ["SizeStatistics"] = new() { [1] = I64, [2] = ListOf(Wire.I64), [3] = ListOf(Wire.I64) },
        ["GeospatialStatistics"] = new() { [1] = S("BoundingBox"), [2] = ListOf(Wire.I32) },
        ["BoundingBox"] = new() { [1] = Dbl, [2] = Dbl, [3] = Dbl, [4] = Dbl, [5] = Dbl, [6] = Dbl, [7] = Dbl, [8] = Dbl },
        ["PageHeader"] = new() { [1] = I32, [2] = I32, [3] = I32, [4] = I32, [5] = S("DataPageHeader"), [6] = S("Empty"), [7] = S("DictionaryPageHeader"), [8] = S("DataPageHeaderV2") },
        ["DataPageHeader"] = new() { [1] = I32, [2] = I32, [3] = I32, [4] = I32, [5] = S("Statistics") },
        ["DictionaryPageHeader"] = new() { [1] = I32, [2] = I32, [3] = Bool },
        ["DataPageHeaderV2"] = new() { [1] = I32, [2] = I32, [3] = I32, [4] = I32, [5] = I32, [6] = I32, [7] = Bool, [8] = S("Statistics") },
    };

    /// <summary>Structs one footer may hold: Parquet.Net builds an object for each (a few hundred bytes with its
    /// lists). 262,144 is ~50× a footer of 1,000 row groups × 10 columns.</summary>
    public const int MaxStructs = 1 << 18;

    /// <summary>Reads one <paramref name="structName"/> at <paramref name="pos"/>; advances <paramref name="pos"/> past it.</summary>
    /// <exception cref="InvalidDataException">the bytes are not a struct Parquet.Net would read the same way.</exception>
    public static ThriftStruct Read(ReadOnlySpan<byte> data, ref int pos, string structName)
    {
        int structs = 0;
        var reader = new Reader(data, pos);
        var result = reader.Struct(structName, ref structs);
        pos = reader.Position;
        return result;
    }

    ref struct Reader(ReadOnlySpan<byte> data, int start)
    {
        readonly ReadOnlySpan<byte> _d = data;
        int _p = start;

        public readonly int Position => _p;

        byte Next(string what) => _p < _d.Length ? _d[_p++] : throw new InvalidDataException($"{what} runs past the end of its bytes");

        /// <summary>Parquet.Net's varint: 7 bits a byte, a shift past the width wrapping; longer than 5 (10) bytes is refused.</summary>
        ulong Varint(int maxBytes, string what)
        {
            ulong result = 0;
            for (int i = 0; i < maxBytes; i++)
            {
                byte b = Next(what);
                result |= (ulong)(b & 0x7F) << (7 * i);
                if ((b & 0x80) == 0) return result;
            }
            throw new InvalidDataException($"{what}: a varint longer than {maxBytes} bytes");
        }

        int I32(string what) { uint n = (uint)Varint(5, what); return (int)(n >> 1) ^ -(int)(n & 1); }
        long I64(string what) { ulong n = Varint(10, what); return (long)(n >> 1) ^ -(long)(n & 1); }

        int Length(string what)
        {
            uint n = (uint)Varint(5, what);
            if (n > (uint)(_d.Length - _p)) throw new InvalidDataException($"{what}: length {n} but {_d.Length - _p} bytes remain");
            return (int)n;
        }

        public ThriftStruct Struct(string name, ref int structs)
        {
            if (++structs > MaxStructs) throw new InvalidDataException($"more than {MaxStructs} Thrift structs");
            var fields = Schema[name];
            var result = new ThriftStruct();
            short last = 0;
            while (true)
            {
                byte header = Next(name);
                if (header == 0) return result;
                var wire = (Wire)(header & 0x0F);
                int delta = header >> 4;
                short id = delta != 0 ? (short)(last + delta) : (short)I32($"{name} field id");
                last = id;
                if (wire is Wire.Stop or > Wire.Struct) throw new InvalidDataException($"{name} field {id} has wire type {(int)wire}");
                string what = $"{name} field {id}";
                if (fields.TryGetValue(id, out var f))
                {
                    bool matches = f.Type == Wire.True ? wire is Wire.True or Wire.False : wire == f.Type;
                    if (!matches) throw new InvalidDataException($"{what} is {wire}, expected {f.Type}");
                    result.Fields[id] = Value(f, wire, what, ref structs);
                }
                else Skip(wire, what);
            }
        }

        object Value(Field f, Wire wire, string what, ref int structs)
        {
            switch (f.Type)
            {
                case Wire.True: return wire == Wire.True;
                case Wire.Byte: return (long)(sbyte)Next(what);
                case Wire.I16 or Wire.I32: return (long)I32(what);
                case Wire.I64: return I64(what);
                case Wire.Double: Bytes(8, what); return 0L;
                case Wire.Binary:
                {
                    // Short texts (column names) are kept for messages; longer values only as their length.
                    int n = Length(what);
                    object v = n <= 256 ? System.Text.Encoding.UTF8.GetString(_d.Slice(_p, n)) : (long)n;
                    Bytes(n, what);
                    return v;
                }
                case Wire.Struct: return Struct(f.Struct!, ref structs);
                case Wire.List:
                {
                    var (count, element) = ListHeader(what);
                    if (element != f.Element) throw new InvalidDataException($"{what}: a list of {element}, expected {f.Element}");
                    var items = new List<object>(count);
                    for (int i = 0; i < count; i++)
                        items.Add(f.Element == Wire.Struct ? Struct(f.Struct!, ref structs) : Value(new Field(f.Element), f.Element, what, ref structs));
                    return items;
                }
                default: throw new InvalidDataException($"{what}: unsupported type {f.Type}");
            }
        }

        int Bytes(int n, string what)
        {
            if (n > _d.Length - _p) throw new InvalidDataException($"{what} runs past the end of its bytes");
            _p += n;
            return n;
        }

        /// <summary>A list header; every element takes at least one byte, so a count beyond the bytes left is refused
        /// before Parquet.Net would allocate for it.</summary>
        (int Count, Wire Element) ListHeader(string what)
        {
            byte b = Next(what);
            int count = b >> 4;
            if (count == 15) count = Length(what);
            else if (count > _d.Length - _p) throw new InvalidDataException($"{what}: {count} elements but {_d.Length - _p} bytes remain");
            return (count, (Wire)(b & 0x0F));
        }

        /// <summary>
        /// A field Parquet.Net does not know, which it skips. Its skip is right for scalars and lists of non-boolean
        /// scalars; for a struct it reads field headers without their values, and a set or map it refuses, so those
        /// are refused here rather than parsed two ways.
        /// </summary>
        void Skip(Wire wire, string what)
        {
            switch (wire)
            {
                case Wire.True or Wire.False: return;
                case Wire.Byte: Bytes(1, what); return;
                case Wire.I16 or Wire.I32: I32(what); return;
                case Wire.I64: I64(what); return;
                case Wire.Double: Bytes(8, what); return;
                case Wire.Binary: Bytes(Length(what), what); return;
                case Wire.List:
                {
                    var (count, element) = ListHeader(what);
                    if (element is < Wire.Byte or > Wire.Binary) throw new InvalidDataException($"{what}: an unknown list of {element}");
                    for (int i = 0; i < count; i++) Skip(element, what);
                    return;
                }
                default: throw new InvalidDataException($"{what}: an unknown field of type {wire}");
            }
        }
    }
}
