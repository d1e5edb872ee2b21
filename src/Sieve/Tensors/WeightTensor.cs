namespace Sieve.Tensors;

/// <summary>
/// A 1-D or 2-D tensor whose bytes live elsewhere (a memory-mapped file or a pinned array), in its stored type.
/// Kernels read the rows in place: a quantized matrix is never dequantized whole.
/// </summary>
/// <remarks>
/// Shape follows the row-major convention of PyTorch: <see cref="Rows"/> × <see cref="Cols"/>, each row
/// <see cref="Cols"/> contiguous values. GGUF lists dims fastest-first, so its [ne0, ne1] is Cols=ne0, Rows=ne1.
/// </remarks>
public sealed unsafe class WeightTensor
{
    public string Name { get; }
    public GgmlType Type { get; }
    public int Rows { get; }
    public int Cols { get; }
    public byte* Data { get; }
    public long RowBytes { get; }
    public long ByteLength => RowBytes * Rows;

    /// <summary>Keeps the memory behind <see cref="Data"/> alive (a mapped file, a pinned array).</summary>
    readonly object? _owner;

    public WeightTensor(string name, GgmlType type, int rows, int cols, byte* data, object? owner)
    {
        var info = TypeTraits.Of(type);
        if (cols % info.BlockSize != 0)
            throw new ArgumentException($"tensor '{name}': row length {cols} is not a multiple of the {info.Name} block size {info.BlockSize}");
        Name = name; Type = type; Rows = rows; Cols = cols; Data = data; _owner = owner;
        RowBytes = info.RowBytes(cols);
    }

    public ReadOnlySpan<byte> Row(int r) => new(Data + r * RowBytes, checked((int)RowBytes));

    public byte* RowPointer(int r) => Data + r * RowBytes;

    /// <summary>All values as F32 (tests, small tensors such as norms and biases).</summary>
    public float[] ToFloat32()
    {
        var result = new float[(long)Rows * Cols];
        for (int r = 0; r < Rows; r++)
            Kernels.Dequantize.Row(Type, Row(r), result.AsSpan(r * Cols, Cols));
        return result;
    }

    /// <summary>Wraps managed F32 values (owned by the returned tensor).</summary>
    public static WeightTensor FromFloat32(string name, float[] values, int rows, int cols)
    {
        if ((long)rows * cols != values.Length) throw new ArgumentException("shape does not match the value count");
        var handle = System.Runtime.InteropServices.GCHandle.Alloc(values, System.Runtime.InteropServices.GCHandleType.Pinned);
        return new WeightTensor(name, GgmlType.F32, rows, cols, (byte*)handle.AddrOfPinnedObject(), new PinnedArray(handle));
    }

    /// <summary>Wraps managed bytes already in <paramref name="type"/>'s layout.</summary>
    public static WeightTensor FromBytes(string name, GgmlType type, byte[] bytes, int rows, int cols)
    {
        if (TypeTraits.Of(type).RowBytes(cols) * rows != bytes.Length) throw new ArgumentException("shape does not match the byte count");
        var handle = System.Runtime.InteropServices.GCHandle.Alloc(bytes, System.Runtime.InteropServices.GCHandleType.Pinned);
        return new WeightTensor(name, type, rows, cols, (byte*)handle.AddrOfPinnedObject(), new PinnedArray(handle));
    }

    sealed class PinnedArray(System.Runtime.InteropServices.GCHandle handle)
    {
        ~PinnedArray() { if (handle.IsAllocated) handle.Free(); }
    }
}
