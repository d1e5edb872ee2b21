using System.Runtime.InteropServices;
using Sieve.Tensors;

namespace Sieve.Kernels.Sparse;

/// <summary>
/// An input-major (transposed) copy of a weight W[out × in], made once so that a sparse-input product reads only the
/// rows of the inputs that are non-zero (CHESS's spvmm, TEAL's kernel). Layouts, by the source type:
/// <list type="bullet">
/// <item>F32: float Wt[in][out].</item>
/// <item>F16 (and BF16, converted): f16 Wt[in][out].</item>
/// <item>Q8_0 and every other quantized type (re-quantized to Q8_0 along each output row first, so Q8_0 sources
/// keep their exact values): per block b of 32 inputs, the f32 scales d[b][out] then the int8 quants
/// q[b·32 + i][out] for i &lt; 32. W[o, k] = d[k/32][o] · q[k][o], the source block's value exactly.</item>
/// </list>
/// </summary>
public sealed unsafe class InputMajorWeight
{
    public string Name { get; }
    /// <summary>F32, F16 or Q8_0: the layout above.</summary>
    public GgmlType Type { get; }
    public int Inputs { get; }
    public int Outputs { get; }
    public long ByteLength => _bytes.LongLength;

    readonly byte[] _bytes;   // pinned

    public byte* Data { get; }

    InputMajorWeight(string name, GgmlType type, int inputs, int outputs, byte[] bytes)
    {
        Name = name; Type = type; Inputs = inputs; Outputs = outputs; _bytes = bytes;
        Data = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(bytes, 0);
    }

    /// <summary>Bytes of one 32-input Q8_0 block: 32 rows of int8 plus a row of f32 scales.</summary>
    public long BlockBytes => (long)Outputs * (32 + sizeof(float));

    public static InputMajorWeight From(WeightTensor w)
    {
        int inputs = w.Cols, outputs = w.Rows;
        switch (w.Type)
        {
            case GgmlType.F32:
            {
                var bytes = GC.AllocateUninitializedArray<byte>(checked(inputs * outputs * sizeof(float)), pinned: true);
                var src = w.ToFloat32();
                fixed (byte* pb = bytes)
                {
                    float* t = (float*)pb;
                    for (int o = 0; o < outputs; o++)
                        for (int k = 0; k < inputs; k++) t[(long)k * outputs + o] = src[(long)o * inputs + k];
                }
                return new(w.Name, GgmlType.F32, inputs, outputs, bytes);
            }
            case GgmlType.F16 or GgmlType.BF16:
            {
                var bytes = GC.AllocateUninitializedArray<byte>(checked(inputs * outputs * 2), pinned: true);
                var row = new float[inputs];
                fixed (byte* pb = bytes)
                {
                    Half* t = (Half*)pb;
                    for (int o = 0; o < outputs; o++)
                    {
                        Dequantize.Row(w.Type, w.Row(o), row);
                        for (int k = 0; k < inputs; k++) t[(long)k * outputs + o] = (Half)row[k];
                    }
                }
                return new(w.Name, GgmlType.F16, inputs, outputs, bytes);
            }
            default:
            {
                if (inputs % 32 != 0) throw new NotSupportedException($"{w.Name}: an input-major Q8_0 copy needs the input width ({inputs}) to be a multiple of 32");
                int blocks = inputs / 32;
                long blockBytes = (long)outputs * (32 + sizeof(float));
                var bytes = GC.AllocateUninitializedArray<byte>(checked((int)(blockBytes * blocks)), pinned: true);
                long q8RowBytes = TypeTraits.Of(GgmlType.Q8_0).RowBytes(inputs);
                var q8 = new byte[q8RowBytes];
                var row = new float[inputs];
                fixed (byte* pb = bytes, pq = q8)
                {
                    for (int o = 0; o < outputs; o++)
                    {
                        byte* src;
                        if (w.Type == GgmlType.Q8_0) src = w.RowPointer(o);
                        else
                        {
                            Dequantize.Row(w.Type, w.Row(o), row);
                            Quantize.Row(GgmlType.Q8_0, row, q8);
                            src = pq;
                        }
                        for (int b = 0; b < blocks; b++)
                        {
                            byte* blk = src + b * Quant.BlockQ8_0.Bytes;
                            byte* dst = pb + b * blockBytes;
                            ((float*)dst)[o] = Fp16.Load(blk);
                            sbyte* q = (sbyte*)(blk + 2);
                            sbyte* tq = (sbyte*)(dst + (long)outputs * sizeof(float));
                            for (int i = 0; i < 32; i++) tq[(long)i * outputs + o] = q[i];
                        }
                    }
                }
                return new(w.Name, GgmlType.Q8_0, inputs, outputs, bytes);
            }
        }
    }
}
