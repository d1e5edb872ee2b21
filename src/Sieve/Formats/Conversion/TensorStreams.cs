using System.Runtime.InteropServices;
using Sieve.Tensors;

namespace Sieve.Formats.Conversion;

/// <summary>
/// Callbacks that stream a tensor into an output file one row at a time, converting its type and reordering its
/// rows on the way, so no converter ever holds a whole matrix.
/// </summary>
public static class TensorStreams
{
    /// <summary>
    /// Rows of <paramref name="src"/> in <paramref name="target"/>'s layout; output row r is source row
    /// <paramref name="order"/>[r] (all rows in order when null). Same-type rows are copied byte for byte;
    /// others go through F32 (<see cref="Kernels.Dequantize"/> then <see cref="Kernels.Quantize"/>).
    /// </summary>
    public static Action<Stream> Rows(WeightTensor src, GgmlType target, int[]? order = null)
    {
        if (order != null && order.Length != src.Rows) throw new ArgumentException($"tensor '{src.Name}' has {src.Rows} rows but the permutation has {order.Length}");
        return output =>
        {
            if (src.Type == target)
            {
                for (int r = 0; r < src.Rows; r++) output.Write(src.Row(order?[r] ?? r));
                return;
            }
            var values = new float[src.Cols];
            var bytes = new byte[TypeTraits.Of(target).RowBytes(src.Cols)];
            for (int r = 0; r < src.Rows; r++)
            {
                Kernels.Dequantize.Row(src.Type, src.Row(order?[r] ?? r), values);
                Kernels.Quantize.Row(target, values, bytes);
                output.Write(bytes);
            }
        };
    }

    /// <summary>An F32 vector's bytes.</summary>
    public static Action<Stream> Vector(float[] values) => output => output.Write(MemoryMarshal.AsBytes(values.AsSpan()));
}
