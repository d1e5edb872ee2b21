using Sieve.Tensors;

namespace Sieve.Formats.Gguf;

/// <summary>One tensor's directory entry. <see cref="Dims"/> are fastest-first as GGUF stores them.</summary>
/// <param name="Offset">Byte offset from the start of the data section.</param>
public sealed record GgufTensorInfo(string Name, long[] Dims, GgmlType Type, long Offset, long ByteLength)
{
    public long ElementCount => Dims.Aggregate(1L, (a, b) => a * b);
}
