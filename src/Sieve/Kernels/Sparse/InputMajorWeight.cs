using System.Runtime.InteropServices;
using Sieve.Tensors;

namespace Sieve.Kernels.Sparse;

/// <summary>
/// An input-major (transposed) copy of a weight W[out × in], made once so that a sparse-input product reads only the
/// rows of the inputs that are non-zero (CHESS's spvmm, TEAL's kernel). Layouts, by the source type:
/// <list type="bullet">
/// <item>F32: float Wt[in][out]; 4 bytes a weight. Exact.</item>
/// <item>F16: f16 Wt[in][out]; 2 bytes a weight. Exact. BF16 is converted to f16, exactly for |w| in f16's normal
/// range (6.1e-5 to 65504: BF16's 8 significant bits fit in f16's 11); smaller values lose bits as f16 subnormals,
/// larger ones become ±∞ (trained weights stay far below).</item>
/// <item>Q8_0 and every other quantized type (re-quantized to Q8_0 along each output row first, so Q8_0 sources
/// keep their exact values; a re-quantized Q4_0 or K-quant row is close to its source, not equal): per block b of
/// 32 inputs, the f32 scales d[b][out] then the int8 quants q[b·32 + i][out] for i &lt; 32, so
/// W[o, k] = d[k/32][o] · q[k][o]. 1.125 bytes a weight against Q8_0's 1.0625: the scale is widened to f32 so that
/// a kernel loads a row of scales as vectors with no conversion.</item>
/// </list>
/// <para>Memory, Q8_0 copies of Llama-3.1-8B shapes (dim 4096, FFN 14336, 8 KV heads, 32 layers): CHESS+ copies
/// q_proj, o_proj and down (92 M weights a layer): 104 MB a layer, 3.3 GB in all; TEAL copies all seven projections
/// (218 M a layer): 245 MB a layer, 7.9 GB, nearly the 8.5 GB of the Q8_0 model itself. That is why a user may drop the
/// row-major copy of a projection that only the sparse kernels read.</para>
/// <para>The data starts on a 64-byte boundary, so when <see cref="Outputs"/> is a multiple of 64 every row (and
/// every row of scales) does too, and the sparse product's 64-column thread ranges start on cache lines.</para>
/// </summary>
public sealed unsafe class InputMajorWeight
{
    public string Name { get; }
    /// <summary>F32, F16 or Q8_0: the layout above.</summary>
    public GgmlType Type { get; }
    public int Inputs { get; }
    public int Outputs { get; }
    /// <summary>Bytes of the copy (the memory it costs, less up to 63 bytes of alignment).</summary>
    public long ByteLength { get; }

    readonly byte[] _bytes;   // pinned, 63 bytes longer than the data so that the data can start on a cache line

    public byte* Data { get; }

    const int Alignment = 64;

    InputMajorWeight(string name, GgmlType type, int inputs, int outputs, long length)
    {
        Name = name; Type = type; Inputs = inputs; Outputs = outputs; ByteLength = length;
        _bytes = GC.AllocateUninitializedArray<byte>((int)(length + Alignment - 1), pinned: true);
        nint start = Marshal.UnsafeAddrOfPinnedArrayElement(_bytes, 0);
        Data = (byte*)((start + Alignment - 1) & ~(nint)(Alignment - 1));
    }

    /// <summary>Bytes of one 32-input Q8_0 block: 32 rows of int8 plus a row of f32 scales.</summary>
    public long BlockBytes => (long)Outputs * (QuantBlock + sizeof(float));

    /// <summary>Inputs per Q8_0 block.</summary>
    public const int QuantBlock = 32;

    /// <summary>Bytes of one input's row of weights (F32, F16; for Q8_0 the int8 row, without its block's scales).</summary>
    public long RowBytes => Type switch
    {
        GgmlType.F32 => (long)Outputs * sizeof(float),
        GgmlType.F16 => (long)Outputs * 2,
        _ => Outputs,
    };

    /// <summary>F32: row k, Outputs floats.</summary>
    public float* F32Row(int k) => (float*)Data + (long)k * Outputs;

    /// <summary>F16: row k, Outputs halves.</summary>
    public ushort* F16Row(int k) => (ushort*)Data + (long)k * Outputs;

    /// <summary>Q8_0: block b's scales d[b][0..Outputs).</summary>
    public float* Scales(int b) => (float*)(Data + b * BlockBytes);

    /// <summary>Q8_0: the int8 quants of input k (row k % 32 of block k / 32).</summary>
    public sbyte* Quants(int k) => (sbyte*)(Data + k / QuantBlock * BlockBytes + (long)Outputs * sizeof(float) + (long)(k % QuantBlock) * Outputs);

    /// <summary>W[output, input] as stored in this copy (tests and diagnostics; not for kernels).</summary>
    public float Value(int output, int input)
    {
        if ((uint)output >= (uint)Outputs || (uint)input >= (uint)Inputs) throw new ArgumentOutOfRangeException(nameof(output));
        return Type switch
        {
            GgmlType.F32 => F32Row(input)[output],
            GgmlType.F16 => Fp16.ToFloat(F16Row(input)[output]),
            _ => Scales(input / QuantBlock)[output] * Quants(input)[output],
        };
    }

    /// <summary>Output rows per task of the parallel transpose: 64 f32 / f16 / int8 values are 1–4 cache lines of
    /// each destination row, so a task writes whole lines.</summary>
    const int Tile = 64;

    /// <summary>
    /// Makes the copy, in parallel over tiles of <see cref="Tile"/> output rows (the transpose is bound by memory:
    /// llama-8b's ~7 GB of Q8_0 projections are read once and written once). Each tile reads its rows in order and
    /// writes, for each input, one run of <see cref="Tile"/> contiguous outputs.
    /// </summary>
    /// <param name="maxThreads">At most this many threads (0: all the process may use).</param>
    public static InputMajorWeight From(WeightTensor w, int maxThreads = 0)
    {
        int inputs = w.Cols, outputs = w.Rows;
        var type = w.Type switch { GgmlType.F32 => GgmlType.F32, GgmlType.F16 or GgmlType.BF16 => GgmlType.F16, _ => GgmlType.Q8_0 };
        if (type == GgmlType.Q8_0 && inputs % QuantBlock != 0)
            throw new NotSupportedException($"{w.Name}: an input-major Q8_0 copy needs the input width ({inputs}) to be a multiple of 32");
        long length = type switch
        {
            GgmlType.F32 => (long)inputs * outputs * sizeof(float),
            GgmlType.F16 => (long)inputs * outputs * 2,
            _ => (long)inputs / QuantBlock * outputs * (QuantBlock + sizeof(float)),
        };
        if (length + Alignment > Array.MaxLength)
            throw new NotSupportedException($"{w.Name}: an input-major copy of {length} bytes is over the {Array.MaxLength}-byte limit of one array");
        var result = new InputMajorWeight(w.Name, type, inputs, outputs, length);
        int tiles = (outputs + Tile - 1) / Tile;
        var options = new ParallelOptions { MaxDegreeOfParallelism = maxThreads > 0 ? maxThreads : -1 };
        switch (w.Type)
        {
            case GgmlType.F32: Parallel.For(0, tiles, options, t => result.TransposeF32(w, t * Tile, Math.Min(outputs, t * Tile + Tile))); break;
            case GgmlType.F16: Parallel.For(0, tiles, options, t => result.TransposeF16(w, t * Tile, Math.Min(outputs, t * Tile + Tile))); break;
            case GgmlType.BF16: Parallel.For(0, tiles, options, t => result.TransposeBf16(w, t * Tile, Math.Min(outputs, t * Tile + Tile))); break;
            default:
                Parallel.For(0, tiles, options, () => new byte[Tile * TypeTraits.Of(GgmlType.Q8_0).RowBytes(inputs)],
                    (t, _, buffer) => { result.TransposeQuantized(w, t * Tile, Math.Min(outputs, t * Tile + Tile), buffer); return buffer; }, _ => { });
                break;
        }
        return result;
    }

    /// <summary>Inputs per step of the F32/F16 tile transpose: a 64 × 64 tile of f32 is 16 KB, in L1 with its destination.</summary>
    const int InputStep = 64;

    void TransposeF32(WeightTensor w, int o0, int o1)
    {
        float* src = (float*)w.Data;
        float* dst = (float*)Data;
        for (int k0 = 0; k0 < Inputs; k0 += InputStep)
        {
            int k1 = Math.Min(Inputs, k0 + InputStep);
            for (int k = k0; k < k1; k++)
                for (int o = o0; o < o1; o++) dst[(long)k * Outputs + o] = src[(long)o * Inputs + k];
        }
    }

    void TransposeF16(WeightTensor w, int o0, int o1)
    {
        ushort* src = (ushort*)w.Data;
        ushort* dst = (ushort*)Data;
        for (int k0 = 0; k0 < Inputs; k0 += InputStep)
        {
            int k1 = Math.Min(Inputs, k0 + InputStep);
            for (int k = k0; k < k1; k++)
                for (int o = o0; o < o1; o++) dst[(long)k * Outputs + o] = src[(long)o * Inputs + k];
        }
    }

    void TransposeBf16(WeightTensor w, int o0, int o1)
    {
        ushort* src = (ushort*)w.Data;
        Half* dst = (Half*)Data;
        for (int k0 = 0; k0 < Inputs; k0 += InputStep)
        {
            int k1 = Math.Min(Inputs, k0 + InputStep);
            for (int k = k0; k < k1; k++)
                for (int o = o0; o < o1; o++)
                    dst[(long)k * Outputs + o] = (Half)BitConverter.Int32BitsToSingle(src[(long)o * Inputs + k] << 16);
        }
    }

    /// <summary>Q8_0 rows as they are; other types dequantized and re-quantized to Q8_0 into <paramref name="buffer"/> first.</summary>
    void TransposeQuantized(WeightTensor w, int o0, int o1, byte[] buffer)
    {
        long q8RowBytes = TypeTraits.Of(GgmlType.Q8_0).RowBytes(Inputs);
        byte* rows;
        long rowStride;
        fixed (byte* pb = buffer)
        {
            if (w.Type == GgmlType.Q8_0) { rows = w.RowPointer(o0); rowStride = w.RowBytes; }
            else
            {
                var row = new float[Inputs];
                for (int o = o0; o < o1; o++)
                {
                    Dequantize.Row(w.Type, w.Row(o), row);
                    Quantize.Row(GgmlType.Q8_0, row, buffer.AsSpan((int)((o - o0) * q8RowBytes), (int)q8RowBytes));
                }
                rows = pb; rowStride = q8RowBytes;
            }
            int n = o1 - o0;
            for (int b = 0; b < Inputs / QuantBlock; b++)
            {
                float* d = Scales(b) + o0;
                sbyte* q = (sbyte*)(Scales(b) + Outputs) + o0;
                for (int j = 0; j < n; j++)
                {
                    byte* blk = rows + j * rowStride + b * Quant.BlockQ8_0.Bytes;
                    d[j] = Fp16.Load(blk);
                    sbyte* src = (sbyte*)(blk + 2);
                    for (int i = 0; i < QuantBlock; i++) q[(long)i * Outputs + j] = src[i];
                }
            }
        }
    }
}
