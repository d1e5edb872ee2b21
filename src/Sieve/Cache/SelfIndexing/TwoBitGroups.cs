using System.Runtime.Intrinsics;

namespace Sieve.Cache.SelfIndexing;

/// <summary>
/// The Self-Indexing cache's 2-bit codes (method notes §1.3 steps 5–6), over groups of 32 consecutive channels of
/// one token (the last group may be shorter). Keys: the magnitude |k'| of the normalised key, asymmetric min-max
/// within the group, the sign kept apart as the index bit. Values: asymmetric min-max of v itself. Each group
/// stores (scale, zero point) in F16; codes use the F32 parameters and round half away from zero, as the CUDA
/// quantiser's <c>round</c> does; decoding uses the stored F16 parameters.
/// </summary>
public static class TwoBitGroups
{
    public const int GroupSize = 32;
    public const int Levels = 3;   // codes 0..3

    public static int GroupCount(int headDim) => (headDim + GroupSize - 1) / GroupSize;
    public static int CodeBytes(int headDim) => (headDim + 3) / 4;

    /// <summary>Quantises |x| (keys) or x (values) of one token: codes into <paramref name="codes"/>, (scale, zp) pairs as F16 bits.</summary>
    public static void Encode(ReadOnlySpan<float> x, bool magnitude, Span<byte> codes, Span<ushort> scaleZp)
    {
        codes[..CodeBytes(x.Length)].Clear();
        for (int g = 0, start = 0; start < x.Length; g++, start += GroupSize)
        {
            int end = Math.Min(x.Length, start + GroupSize);
            float lo = float.PositiveInfinity, hi = float.NegativeInfinity;
            for (int j = start; j < end; j++)
            {
                float a = magnitude ? MathF.Abs(x[j]) : x[j];
                lo = MathF.Min(lo, a);
                hi = MathF.Max(hi, a);
            }
            float scale = (hi - lo) / Levels;
            for (int j = start; j < end; j++)
            {
                float a = magnitude ? MathF.Abs(x[j]) : x[j];
                int c = scale > 0 ? (int)Math.Clamp(MathF.Round((a - lo) / scale, MidpointRounding.AwayFromZero), 0, Levels) : 0;
                codes[j >> 2] |= (byte)(c << (2 * (j & 3)));
            }
            scaleZp[2 * g] = BitConverter.HalfToUInt16Bits((Half)scale);
            scaleZp[2 * g + 1] = BitConverter.HalfToUInt16Bits((Half)lo);
        }
    }

    public static int CodeAt(ReadOnlySpan<byte> codes, int j) => (codes[j >> 2] >> (2 * (j & 3))) & 3;

    /// <summary>Reconstructs one token's values: zp + c·scale per channel.</summary>
    public static void DecodeValues(ReadOnlySpan<byte> codes, ReadOnlySpan<ushort> scaleZp, Span<float> output)
    {
        for (int g = 0, start = 0; start < output.Length; g++, start += GroupSize)
        {
            float scale = (float)BitConverter.UInt16BitsToHalf(scaleZp[2 * g]);
            float zp = (float)BitConverter.UInt16BitsToHalf(scaleZp[2 * g + 1]);
            for (int j = start, end = Math.Min(output.Length, start + GroupSize); j < end; j++)
                output[j] = zp + CodeAt(codes, j) * scale;
        }
    }

    /// <summary>
    /// Reconstructs one token's key in the centred space: ±(zp + c·scale) with the sign from its sign bits (bit j of
    /// <paramref name="signs"/>, byte-packed), times the per-channel scale a_j.
    /// </summary>
    public static void DecodeKey(ReadOnlySpan<byte> codes, ReadOnlySpan<ushort> scaleZp, ReadOnlySpan<byte> signs,
        ReadOnlySpan<float> channelScale, Span<float> output)
    {
        DecodeValues(codes, scaleZp, output);
        for (int j = 0; j < output.Length; j++)
            output[j] = ((signs[j >> 3] >> (j & 7)) & 1) != 0 ? output[j] * channelScale[j] : -output[j] * channelScale[j];
    }

    // ---- the fast path of the decode-time gather: a byte of codes → four floats, a byte of signs → eight ±1 ----

    static readonly float[] CodeTable = BuildCodeTable();   // [256 × 4]: the four 2-bit codes of a byte
    static readonly float[] SignTable = BuildSignTable();   // [256 × 8]: bit r → +1 / −1

    static float[] BuildCodeTable()
    {
        var t = new float[256 * 4];
        for (int b = 0; b < 256; b++) for (int r = 0; r < 4; r++) t[b * 4 + r] = (b >> (2 * r)) & 3;
        return t;
    }

    static float[] BuildSignTable()
    {
        var t = new float[256 * 8];
        for (int b = 0; b < 256; b++) for (int r = 0; r < 8; r++) t[b * 8 + r] = ((b >> r) & 1) != 0 ? 1 : -1;
        return t;
    }

    /// <summary>
    /// <see cref="DecodeValues"/> and <see cref="DecodeKey"/> with table lookups and 4/8-wide vectors, for head sizes
    /// that are multiples of 8; the same arithmetic (zp + c·scale, then ± and ·a), so results are identical.
    /// </summary>
    public static unsafe void DecodeFast(byte* codes, ushort* scaleZp, byte* signs, float* channelScale, int headDim, float* output)
    {
        fixed (float* codeTable = CodeTable, signTable = SignTable)
        {
            for (int g = 0, start = 0; start < headDim; g++, start += GroupSize)
            {
                var scale = Vector128.Create((float)BitConverter.UInt16BitsToHalf(scaleZp[2 * g]));
                var zp = Vector128.Create((float)BitConverter.UInt16BitsToHalf(scaleZp[2 * g + 1]));
                for (int j = start, end = Math.Min(headDim, start + GroupSize); j < end; j += 4)
                {
                    var c = Vector128.Load(codeTable + codes[j >> 2] * 4);
                    // Not fused: zp + c·scale rounds twice, exactly as the scalar twin does.
                    (zp + c * scale).Store(output + j);
                }
            }
            if (signs == null) return;
            for (int j = 0; j < headDim; j += 8)
            {
                var sign = Vector256.Load(signTable + signs[j >> 3] * 8);
                (Vector256.Load(output + j) * sign * Vector256.Load(channelScale + j)).Store(output + j);
            }
        }
    }
}
