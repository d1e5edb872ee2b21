using System.Runtime.CompilerServices;
namespace Sieve.Kernels.Quant;

/// <summary>
/// Q8_K, the activation format for K-quant weights: per 256 values an f32 scale d, 256 int8 quants and the 16
/// sums of each run of 16 quants (which fold the K-quants' per-sub-block minimums into one multiply). 292 bytes.
/// </summary>
public static unsafe class BlockQ8_K
{
    public const int Size = 256;
    public const int Bytes = 292;

    public static float Scale(byte* block) => *(float*)block;
    public static sbyte* Quants(byte* block) => (sbyte*)(block + 4);
    public static short* Sums(byte* block) => (short*)(block + 260);

    /// <summary>llama.cpp's reference rule: scale by −127/(the value of largest magnitude), round half to even.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Quantize(float* x, byte* dst, int n)
    {
        for (int b = 0; b < n / Size; b++, x += Size, dst += Bytes)
        {
            float max = 0, amax = 0;
            for (int j = 0; j < Size; j++)
            {
                float ax = MathF.Abs(x[j]);
                if (ax > amax) { amax = ax; max = x[j]; }
            }
            sbyte* q = Quants(dst);
            short* sums = Sums(dst);
            if (amax == 0)
            {
                *(float*)dst = 0;
                new Span<byte>(dst + 4, Bytes - 4).Clear();
                continue;
            }
            float iscale = -127f / max;
            for (int j = 0; j < Size; j++) q[j] = (sbyte)Math.Min(127, (int)MathF.Round(iscale * x[j], MidpointRounding.ToEven));
            for (int j = 0; j < Size / 16; j++)
            {
                int s = 0;
                for (int i = 0; i < 16; i++) s += q[j * 16 + i];
                sums[j] = (short)s;
            }
            *(float*)dst = 1 / iscale;
        }
    }

    public static void Dequantize(byte* src, float* dst, int n)
    {
        for (int b = 0; b < n / Size; b++, src += Bytes, dst += Size)
        {
            float d = Scale(src);
            sbyte* q = Quants(src);
            for (int i = 0; i < Size; i++) dst[i] = d * q[i];
        }
    }
}
