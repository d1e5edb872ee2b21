using System.Runtime.InteropServices;
using System.Text;
using Sieve.Tensors;

namespace Sieve.Formats.Gguf;

/// <summary>
/// Writes a GGUF v3 file: header, metadata, tensor directory, then the tensor data, each tensor aligned.
/// Tensor bytes are not held: each tensor is given as a callback that streams its bytes when the file is
/// written, so converting a multi-gigabyte model needs memory for one row, not one model.
/// </summary>
public sealed class GgufWriter
{
    readonly List<(string Key, GgufValueType Type, object Value)> _metadata = [];
    readonly List<Pending> _tensors = [];
    readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public int Alignment { get; }

    sealed record Pending(string Name, GgmlType Type, long[] Dims, long Bytes, Action<Stream> Write);

    public GgufWriter(int alignment = GgufFile.DefaultAlignment)
    {
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0) throw new ArgumentException($"alignment {alignment} is not a power of two");
        Alignment = alignment;
        if (alignment != GgufFile.DefaultAlignment) Add("general.alignment", (uint)alignment);
    }

    public bool HasKey(string key) => _keys.Contains(key);

    /// <summary>
    /// Adds a metadata value, its GGUF type taken from the CLR type: string, bool, the eight integer types, float,
    /// double; arrays of those (typed, as <see cref="GgufFile"/> reads them, or an <c>object[]</c> of one of them);
    /// arrays of such arrays (nested); or a <see cref="GgufArray"/>.
    /// </summary>
    public void Add(string key, object value)
    {
        if (!_keys.Add(key)) throw new ArgumentException($"metadata key '{key}' added twice");
        var type = TypeOf(value, key);
        if (type == GgufValueType.Array) ElementTypeOf(value, key);   // fail now, not halfway through writing
        _metadata.Add((key, type, value));
    }

    static GgufValueType TypeOf(object value, string key) => value switch
    {
        string => GgufValueType.String,
        bool => GgufValueType.Bool,
        byte => GgufValueType.UInt8,
        sbyte => GgufValueType.Int8,
        ushort => GgufValueType.UInt16,
        short => GgufValueType.Int16,
        uint => GgufValueType.UInt32,
        int => GgufValueType.Int32,
        ulong => GgufValueType.UInt64,
        long => GgufValueType.Int64,
        float => GgufValueType.Float32,
        double => GgufValueType.Float64,
        Array or GgufArray => GgufValueType.Array,
        _ => throw new ArgumentException($"metadata '{key}': values of type {value.GetType().Name} cannot be written to GGUF"),
    };

    static GgufValueType ElementTypeOf(object array, string key)
    {
        if (array is GgufArray ga)
        {
            foreach (var v in ga.Values)
            {
                if (TypeOf(v!, key) != ga.ElementType) throw new ArgumentException($"metadata '{key}': element {v} is not {ga.ElementType}");
                if (ga.ElementType == GgufValueType.Array) ElementTypeOf(v!, key);
            }
            return ga.ElementType;
        }
        var a = (Array)array;
        var elementClr = a.GetType().GetElementType()!;
        if (elementClr != typeof(object) && !typeof(Array).IsAssignableFrom(elementClr))
        {
            // A typed array (ushort[], string[]...): its elements need no checks beyond strings' nulls.
            if (a is string[] strings && Array.IndexOf(strings, null) is int at and >= 0) throw new ArgumentException($"metadata '{key}': null element at {at}");
            return ElementTypeOfClr(elementClr, key);
        }
        if (elementClr == typeof(object) && a.Length == 0) throw new ArgumentException($"metadata '{key}': an empty object[] has no element type; use GgufArray");
        if (a.Length == 0) return GgufValueType.Array;
        GgufValueType? type = null;
        foreach (var v in a)
        {
            if (v == null) throw new ArgumentException($"metadata '{key}': null element");
            var t = TypeOf(v, key);
            if (t == GgufValueType.Array) ElementTypeOf(v, key);   // nested: each inner array checked too
            if (type != null && t != type) throw new ArgumentException($"metadata '{key}': mixed element types {type} and {t}");
            type = t;
        }
        return type!.Value;
    }

    static GgufValueType ElementTypeOfClr(Type t, string key) => Type.GetTypeCode(t) switch
    {
        TypeCode.String => GgufValueType.String,
        TypeCode.Boolean => GgufValueType.Bool,
        TypeCode.Byte => GgufValueType.UInt8,
        TypeCode.SByte => GgufValueType.Int8,
        TypeCode.UInt16 => GgufValueType.UInt16,
        TypeCode.Int16 => GgufValueType.Int16,
        TypeCode.UInt32 => GgufValueType.UInt32,
        TypeCode.Int32 => GgufValueType.Int32,
        TypeCode.UInt64 => GgufValueType.UInt64,
        TypeCode.Int64 => GgufValueType.Int64,
        TypeCode.Single => GgufValueType.Float32,
        TypeCode.Double => GgufValueType.Float64,
        _ => throw new ArgumentException($"metadata '{key}': arrays of {t.Name} cannot be written to GGUF"),
    };

    /// <summary>
    /// Adds a tensor whose bytes <paramref name="write"/> produces when the file is written; it must write exactly
    /// the size that <paramref name="type"/> and <paramref name="dims"/> (GGUF order: fastest-varying first) imply.
    /// </summary>
    public void AddTensor(string name, GgmlType type, long[] dims, Action<Stream> write)
    {
        if (!_names.Add(name)) throw new ArgumentException($"tensor '{name}' added twice");
        if (dims.Length is 0 or > 4 || dims.Any(d => d <= 0)) throw new ArgumentException($"tensor '{name}': bad shape [{string.Join(", ", dims)}]");
        var info = TypeTraits.Of(type);
        if (dims[0] % info.BlockSize != 0) throw new ArgumentException($"tensor '{name}': row length {dims[0]} is not a multiple of the {info.Name} block size {info.BlockSize}");
        long rows = dims.Skip(1).Aggregate(1L, (a, b) => checked(a * b));
        _tensors.Add(new Pending(name, type, (long[])dims.Clone(), checked(info.RowBytes(dims[0]) * rows), write));
    }

    /// <summary>Adds an F32 vector (a norm or bias) held in memory.</summary>
    public void AddTensor(string name, float[] values) =>
        AddTensor(name, GgmlType.F32, [values.Length], s => s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan())));

    /// <summary>Total bytes of tensor data (without padding), for progress.</summary>
    public long TensorBytes => _tensors.Sum(t => t.Bytes);

    /// <summary>
    /// Writes the file. It goes to a temporary name beside <paramref name="path"/> and is renamed when complete,
    /// so a failure part-way leaves no half-written model behind.
    /// </summary>
    public void Write(string path, IProgress<double>? progress = null) => AtomicFile.Write(path, fs => Write(fs, progress));

    public void Write(Stream output, IProgress<double>? progress = null)
    {
        // Counted so the padding after the header is right whatever the stream can report.
        var header = new CountingStream(output, long.MaxValue, "header", null);
        var w = new BinaryWriter(header, Encoding.UTF8, leaveOpen: true);
        w.Write(GgufFile.Magic);
        w.Write(3u);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_metadata.Count);
        foreach (var (key, type, value) in _metadata)
        {
            WriteString(w, key);
            w.Write((uint)type);
            WriteValue(w, type, value, key);
        }
        long offset = 0;
        var offsets = new long[_tensors.Count];
        for (int i = 0; i < _tensors.Count; i++)
        {
            var t = _tensors[i];
            WriteString(w, t.Name);
            w.Write((uint)t.Dims.Length);
            foreach (var d in t.Dims) w.Write((ulong)d);
            w.Write((uint)t.Type);
            w.Write((ulong)offset);
            offsets[i] = offset;
            offset = Align(offset + t.Bytes);
        }
        w.Flush();
        long headerEnd = header.Written;
        Pad(output, Align(headerEnd) - headerEnd);

        long total = Math.Max(1, TensorBytes), done = 0;
        for (int i = 0; i < _tensors.Count; i++)
        {
            var t = _tensors[i];
            var counting = new CountingStream(output, t.Bytes, t.Name, n => progress?.Report((double)(done + n) / total));
            t.Write(counting);
            if (counting.Written != t.Bytes)
                throw new InvalidOperationException($"tensor '{t.Name}': wrote {counting.Written} bytes, its shape and type need {t.Bytes}");
            done += t.Bytes;
            if (i + 1 < _tensors.Count) Pad(output, offsets[i + 1] - (offsets[i] + t.Bytes));
        }
        output.Flush();
        progress?.Report(1.0);
    }

    long Align(long n) => (n + Alignment - 1) / Alignment * Alignment;

    static void Pad(Stream s, long n)
    {
        Span<byte> zeros = stackalloc byte[64];
        zeros.Clear();
        while (n > 0) { int k = (int)Math.Min(n, zeros.Length); s.Write(zeros[..k]); n -= k; }
    }

    static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    static void WriteValue(BinaryWriter w, GgufValueType type, object v, string key)
    {
        switch (type)
        {
            case GgufValueType.UInt8: w.Write((byte)v); break;
            case GgufValueType.Int8: w.Write((sbyte)v); break;
            case GgufValueType.UInt16: w.Write((ushort)v); break;
            case GgufValueType.Int16: w.Write((short)v); break;
            case GgufValueType.UInt32: w.Write((uint)v); break;
            case GgufValueType.Int32: w.Write((int)v); break;
            case GgufValueType.UInt64: w.Write((ulong)v); break;
            case GgufValueType.Int64: w.Write((long)v); break;
            case GgufValueType.Float32: w.Write((float)v); break;
            case GgufValueType.Float64: w.Write((double)v); break;
            case GgufValueType.Bool: w.Write((byte)((bool)v ? 1 : 0)); break;
            case GgufValueType.String: WriteString(w, (string)v); break;
            case GgufValueType.Array:
                var elementType = ElementTypeOf(v, key);
                var values = v is GgufArray ga ? ga.Values : (Array)v;
                w.Write((uint)elementType);
                w.Write((ulong)values.Length);
                if (!WriteFixed(w, values)) foreach (var e in values) WriteValue(w, elementType, e!, key);
                break;
            default: throw new ArgumentException($"metadata '{key}': type {type} cannot be written");
        }
    }

    /// <summary>Writes a typed array of fixed-width numbers as its bytes (GGUF is little-endian, as .NET hosts are);
    /// false for strings, bools, nested and object arrays, which are written element by element.</summary>
    static bool WriteFixed(BinaryWriter w, Array values)
    {
        switch (values)
        {
            case byte[] a: w.Write(a); return true;
            case sbyte[] a: w.Write(MemoryMarshal.AsBytes(a.AsSpan())); return true;
            case ushort[] a: w.Write(MemoryMarshal.AsBytes(a.AsSpan())); return true;
            case short[] a: w.Write(MemoryMarshal.AsBytes(a.AsSpan())); return true;
            case uint[] a: w.Write(MemoryMarshal.AsBytes(a.AsSpan())); return true;
            case int[] a: w.Write(MemoryMarshal.AsBytes(a.AsSpan())); return true;
            case ulong[] a: w.Write(MemoryMarshal.AsBytes(a.AsSpan())); return true;
            case long[] a: w.Write(MemoryMarshal.AsBytes(a.AsSpan())); return true;
            case float[] a: w.Write(MemoryMarshal.AsBytes(a.AsSpan())); return true;
            case double[] a: w.Write(MemoryMarshal.AsBytes(a.AsSpan())); return true;
            default: return false;
        }
    }

    /// <summary>Passes writes through, counting them and refusing to go past the tensor's declared size.</summary>
    sealed class CountingStream(Stream inner, long limit, string name, Action<long>? onWrite) : Stream
    {
        public long Written { get; private set; }
        long _lastReport;

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Written + buffer.Length > limit)
                throw new InvalidOperationException($"tensor '{name}': more bytes written than its shape and type need ({limit})");
            inner.Write(buffer);
            Written += buffer.Length;
            if (onWrite != null && (Written - _lastReport >= 1 << 20 || Written == limit)) { _lastReport = Written; onWrite(Written); }
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void WriteByte(byte value) => Write([value]);
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Written;
        public override long Position { get => Written; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
