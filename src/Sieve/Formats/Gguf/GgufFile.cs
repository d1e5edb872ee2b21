using System.Runtime.InteropServices;
using System.Text;
using Sieve.Tensors;

namespace Sieve.Formats.Gguf;

/// <summary>
/// A GGUF v2/v3 file, memory-mapped. Metadata is parsed eagerly (arrays as typed CLR arrays: ushort[], string[],
/// nested ones as Array[]); tensor data stays in the map and is handed out
/// as <see cref="WeightTensor"/> views. Every length, count and offset read from the file is checked against
/// the file's size before it is used, because model files are untrusted input.
/// </summary>
public sealed unsafe class GgufFile : IDisposable, IWeightStorage
{
    public const uint Magic = 0x46554747; // "GGUF" little-endian
    public const int DefaultAlignment = 32;

    // Caps that no real file comes near; they stop a corrupt count from allocating gigabytes before the
    // bounds checks would catch it.
    const long MaxKeyValues = 1 << 20;
    const long MaxTensors = 1 << 20;
    const int MaxDims = 4;
    // Real files nest arrays at most once; each level costs 12 bytes of file but a stack frame to read.
    const int MaxArrayDepth = 8;
    // The smallest encodings: a key-value pair is an empty key (u64 length), a u32 type and a 1-byte value; a
    // tensor entry is an empty name, a u32 dimension count, one u64 dimension, a u32 type and a u64 offset.
    const long MinKeyValueBytes = 8 + 4 + 1;
    const long MinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;

    readonly MappedFile _file;

    public string Path => _file.Path;
    public uint Version { get; }
    public IReadOnlyDictionary<string, object> Metadata { get; }
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }
    public long DataOffset { get; }
    public int Alignment { get; }
    public long FileLength => _file.Length;
    readonly Dictionary<string, GgufTensorInfo> _byName;

    public static GgufFile Open(string path) => new(new MappedFile(path));

    GgufFile(MappedFile file)
    {
        _file = file;
        try
        {
            var r = new Reader(file);
            if (file.Length < 24) throw Bad("too short to be a GGUF file (truncated)");
            uint magic = r.U32();
            if (magic != Magic) throw Bad($"not a GGUF file (magic 0x{magic:X8})");
            Version = r.U32();
            if (Version is not (2 or 3)) throw Bad($"GGUF version {Version} is not supported (2 and 3 are)");
            long tensorCount = r.Count(MaxTensors, "tensor count");
            long kvCount = r.Count(MaxKeyValues, "metadata count");
            // Checked before the lists are sized from them: a count the rest of the file cannot hold is corrupt.
            if (kvCount * MinKeyValueBytes + tensorCount * MinTensorInfoBytes > file.Length - r.Position)
                throw Bad($"{kvCount} metadata entries and {tensorCount} tensors cannot fit in the {file.Length - r.Position} bytes left: truncated or corrupt");

            var meta = new Dictionary<string, object>(StringComparer.Ordinal);
            for (long i = 0; i < kvCount; i++)
            {
                string key = r.String();
                var type = (GgufValueType)r.U32();
                meta[key] = r.Value(type, key);
            }
            Metadata = meta;

            Alignment = DefaultAlignment;
            if (meta.TryGetValue("general.alignment", out var a))
            {
                // Any integer type is accepted; anything else (a corrupt type byte) is an error, not a cast exception.
                long al = a switch
                {
                    byte or sbyte or ushort or short or uint or int or long => Convert.ToInt64(a),
                    ulong u when u <= int.MaxValue => (long)u,
                    _ => throw Bad($"general.alignment should be an integer but is {a}"),
                };
                if (al <= 0 || al > 1 << 20 || (al & (al - 1)) != 0) throw Bad($"general.alignment {al} is not a power of two");
                Alignment = (int)al;
            }

            var tensors = new List<GgufTensorInfo>((int)tensorCount);
            for (long i = 0; i < tensorCount; i++)
            {
                string name = r.String();
                uint nDims = r.U32();
                if (nDims == 0 || nDims > MaxDims) throw Bad($"tensor '{name}' has {nDims} dimensions (1 to {MaxDims} allowed)");
                var dims = new long[nDims];
                for (int d = 0; d < nDims; d++)
                {
                    ulong n = r.U64();
                    if (n == 0 || n > int.MaxValue) throw Bad($"tensor '{name}' dimension {d} is {n}");
                    dims[d] = (long)n;
                }
                uint rawType = r.U32();
                var type = (GgmlType)rawType;
                ulong offset = r.U64();
                long bytes = -1;
                if (TypeTraits.TryGet(type, out var info))
                {
                    if (dims[0] % info.BlockSize != 0)
                        throw Bad($"tensor '{name}' row length {dims[0]} is not a multiple of the {info.Name} block size {info.BlockSize}");
                    long elements = 1;
                    foreach (var n in dims) elements = checked(elements * n);
                    bytes = checked(elements / info.BlockSize * info.BlockBytes);
                }
                if (offset > (ulong)file.Length) throw Bad($"tensor '{name}' offset {offset} lies past the end of the file ({file.Length} bytes): truncated or corrupt");
                tensors.Add(new GgufTensorInfo(name, dims, type, (long)offset, bytes));
            }
            Tensors = tensors;

            DataOffset = (r.Position + Alignment - 1) / Alignment * Alignment;
            _byName = new Dictionary<string, GgufTensorInfo>(StringComparer.Ordinal);
            foreach (var t in tensors)
            {
                if (!_byName.TryAdd(t.Name, t)) throw Bad($"tensor '{t.Name}' appears twice");
                if (t.Offset % Alignment != 0) throw Bad($"tensor '{t.Name}' offset {t.Offset} is not aligned to {Alignment}");
                if (t.ByteLength >= 0 && (DataOffset + t.Offset > file.Length || t.ByteLength > file.Length - DataOffset - t.Offset))
                    throw Bad($"tensor '{t.Name}' data ({t.ByteLength} bytes at {DataOffset + t.Offset}) runs past the end of the file ({file.Length} bytes): truncated");
            }
        }
        catch (OverflowException)
        {
            file.Dispose();
            throw new ModelFileException(file.Path, "a size in the tensor directory overflows: corrupt file");
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    ModelFileException Bad(string problem) => new(_file.Path, problem);

    public bool TryGetTensor(string name, out GgufTensorInfo info) => _byName.TryGetValue(name, out info!);

    /// <summary>The tensor as a rows × cols view into the map; higher dims fold into rows.</summary>
    public WeightTensor Tensor(string name)
    {
        if (!_byName.TryGetValue(name, out var t)) throw Bad($"tensor '{name}' is missing");
        return View(t);
    }

    public WeightTensor View(GgufTensorInfo t)
    {
        // Refused here, at load, naming the tensor: a weight without a dot-product kernel would otherwise load and
        // fail at its first matrix product, in the middle of a run.
        if (!TypeTraits.TryGet(t.Type, out var info))
            throw Bad($"tensor '{t.Name}' has unknown type {(uint)t.Type}, which Sieve cannot run (weights must be {TypeTraits.SupportedNames})");
        if (!info.Supported)
            throw Bad($"tensor '{t.Name}' is stored as {info.Name}, which Sieve cannot multiply (weights must be {TypeTraits.SupportedNames})");
        long rows = t.ElementCount / t.Dims[0];
        if (rows > int.MaxValue) throw Bad($"tensor '{t.Name}' has too many rows");
        return new WeightTensor(t.Name, t.Type, (int)rows, (int)t.Dims[0], _file.Pointer + DataOffset + t.Offset, this);
    }

    // ---- metadata accessors ----

    public bool Has(string key) => Metadata.ContainsKey(key);

    public string? GetString(string key) => Metadata.TryGetValue(key, out var v) ? v as string : null;

    public long? GetInt(string key)
    {
        if (!Metadata.TryGetValue(key, out var v)) return null;
        return v switch
        {
            byte or sbyte or ushort or short or uint or int or long => Convert.ToInt64(v),
            ulong u => u > long.MaxValue ? throw Bad($"'{key}' value {u} is out of range") : (long)u,
            bool b => b ? 1 : 0,
            _ => throw Bad($"'{key}' should be an integer but is {v.GetType().Name}"),
        };
    }

    public double? GetFloat(string key)
    {
        if (!Metadata.TryGetValue(key, out var v)) return null;
        return v switch
        {
            float f => f,
            double d => d,
            byte or sbyte or ushort or short or uint or int or long or ulong => Convert.ToDouble(v),
            _ => throw Bad($"'{key}' should be a number but is {v.GetType().Name}"),
        };
    }

    public bool? GetBool(string key) => Metadata.TryGetValue(key, out var v) ? v switch
    {
        bool b => b,
        byte or sbyte or int or uint => Convert.ToInt64(v) != 0,
        _ => throw Bad($"'{key}' should be a bool but is {v.GetType().Name}"),
    } : null;

    public T[]? GetArray<T>(string key)
    {
        if (!Metadata.TryGetValue(key, out var v)) return null;
        return v as T[] ?? throw Bad($"'{key}' should be an array of {typeof(T).Name} but is {v.GetType().Name}");
    }

    bool IWeightStorage.Covers(WeightTensor t) => ((IWeightStorage)_file).Covers(t);

    public void Dispose() => _file.Dispose();

    /// <summary>A cursor over the map whose every read is bounds-checked.</summary>
    sealed class Reader(MappedFile file)
    {
        public long Position;

        ReadOnlySpan<byte> Take(long n, string what = "value")
        {
            file.Check(Position, n, what);
            var s = new ReadOnlySpan<byte>(file.Pointer + Position, (int)n);
            Position += n;
            return s;
        }

        public uint U32() => BitConverter.ToUInt32(Take(4));
        public ulong U64() => BitConverter.ToUInt64(Take(8));

        public long Count(long max, string what)
        {
            ulong n = U64();
            if (n > (ulong)max) throw new ModelFileException(file.Path, $"{what} {n} is implausible: corrupt file");
            return (long)n;
        }

        public string String()
        {
            ulong n = U64();
            if (n > (ulong)(file.Length - Position) || n > int.MaxValue)
                throw new ModelFileException(file.Path, $"string of {n} bytes at byte {Position} runs past the end of the file: truncated or corrupt");
            if (n == 0) return "";
            var bytes = Take((long)n, "string");
            try { return Strict.GetString(bytes); }
            catch (DecoderFallbackException) { throw new ModelFileException(file.Path, $"string at byte {Position - (long)n} is not valid UTF-8: corrupt file"); }
        }

        static readonly UTF8Encoding Strict = new(false, true);

        public object Value(GgufValueType type, string key) => type switch
        {
            GgufValueType.UInt8 => Take(1)[0],
            GgufValueType.Int8 => (sbyte)Take(1)[0],
            GgufValueType.UInt16 => BitConverter.ToUInt16(Take(2)),
            GgufValueType.Int16 => BitConverter.ToInt16(Take(2)),
            GgufValueType.UInt32 => U32(),
            GgufValueType.Int32 => BitConverter.ToInt32(Take(4)),
            GgufValueType.Float32 => BitConverter.ToSingle(Take(4)),
            GgufValueType.Bool => Take(1)[0] != 0,
            GgufValueType.String => String(),
            GgufValueType.UInt64 => U64(),
            GgufValueType.Int64 => BitConverter.ToInt64(Take(8)),
            GgufValueType.Float64 => BitConverter.ToDouble(Take(8)),
            GgufValueType.Array => Array(key, 1),
            _ => throw new ModelFileException(file.Path, $"metadata '{key}' has unknown value type {(uint)type}: corrupt file"),
        };

        /// <summary>
        /// An array as a typed CLR array (UInt16 elements as a ushort[]: 2 bytes each, not a boxed object each);
        /// nested arrays as an Array[] of such arrays. The element type is checked, then the count against the
        /// bytes left, before anything is allocated, so a corrupt header cannot claim more memory than the file's size.
        /// </summary>
        Array Array(string key, int depth)
        {
            uint rawType = U32();
            var type = (GgufValueType)rawType;
            int minBytes = MinEncodedBytes(type);
            if (minBytes == 0) throw new ModelFileException(file.Path, $"metadata '{key}' is an array of unknown element type {rawType}: corrupt file");
            if (type == GgufValueType.Array && depth >= MaxArrayDepth)
                throw new ModelFileException(file.Path, $"metadata '{key}' has arrays nested more than {MaxArrayDepth} deep: corrupt file");
            ulong n = U64();
            // Every element takes at least its minimum encoded size, so a count whose elements could not fit in
            // the bytes left is corrupt; one whose payload passes 2 GiB is refused too (no metadata comes near).
            if (n > (ulong)(file.Length - Position) / (ulong)minBytes || n > int.MaxValue / (ulong)minBytes)
                throw new ModelFileException(file.Path, $"metadata '{key}' claims {n} elements of {type}, more than the file holds: truncated or corrupt");
            int count = (int)n;
            switch (type)
            {
                case GgufValueType.UInt8: return Take(count).ToArray();
                case GgufValueType.Int8: return Fixed<sbyte>(count);
                case GgufValueType.UInt16: return Fixed<ushort>(count);
                case GgufValueType.Int16: return Fixed<short>(count);
                case GgufValueType.UInt32: return Fixed<uint>(count);
                case GgufValueType.Int32: return Fixed<int>(count);
                case GgufValueType.Float32: return Fixed<float>(count);
                case GgufValueType.UInt64: return Fixed<ulong>(count);
                case GgufValueType.Int64: return Fixed<long>(count);
                case GgufValueType.Float64: return Fixed<double>(count);
                case GgufValueType.Bool:
                {
                    var a = new bool[count];
                    var s = Take(count);
                    for (int i = 0; i < count; i++) a[i] = s[i] != 0;
                    return a;
                }
                case GgufValueType.String:
                {
                    var a = new string[count];
                    for (int i = 0; i < count; i++) a[i] = String();
                    return a;
                }
                default:
                {
                    var a = new Array[count];
                    for (int i = 0; i < count; i++) a[i] = Array(key, depth + 1);
                    return a;
                }
            }
        }

        /// <summary>Fixed-width elements copied straight out of the map (GGUF is little-endian, as is every host .NET runs on).</summary>
        T[] Fixed<T>(int count) where T : unmanaged
        {
            if (count == 0) return [];
            return MemoryMarshal.Cast<byte, T>(Take((long)count * sizeof(T))).ToArray();
        }

        /// <summary>Bytes the smallest element of <paramref name="type"/> takes in the file; 0 for an unknown type.</summary>
        static int MinEncodedBytes(GgufValueType type) => type switch
        {
            GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
            GgufValueType.UInt16 or GgufValueType.Int16 => 2,
            GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
            GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
            GgufValueType.String => 8,                 // its u64 length
            GgufValueType.Array => 12,                 // its u32 element type and u64 count
            _ => 0,
        };
    }
}
