using System.Runtime.CompilerServices;

using Sieve.Tensors;

namespace Sieve.Kernels.Quant;

/// <summary>
/// Q4_K: super-blocks of 256 values in 8 sub-blocks of 32. Layout: f16 d, f16 dmin, 12 bytes packing eight 6-bit
/// scales and eight 6-bit mins, 128 bytes of 4-bit quants. Value = d·scale_j·q − dmin·min_j. 144 bytes.
/// </summary>
public static unsafe class BlockQ4_K
{
    public const int Size = 256;
    public const int Bytes = 144;

    /// <summary>Scale and min of sub-block j from the 12 packed bytes (6 bits each; sub-blocks 4–7 split their top bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void ScaleMin(int j, byte* q, out int scale, out int min)
    {
        if (j < 4)
        {
            scale = q[j] & 63;
            min = q[j + 4] & 63;
        }
        else
        {
            scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
            min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        }
    }

    public static void Dequantize(byte* src, float* dst, int n)
    {
        for (int b = 0; b < n / Size; b++, src += Bytes)
        {
            float d = Fp16.Load(src);
            float dmin = Fp16.Load(src + 2);
            byte* scales = src + 4;
            byte* q = src + 16;
            for (int j = 0, sub = 0; j < Size; j += 64, sub += 2, q += 32)
            {
                ScaleMin(sub, scales, out int sc1, out int m1);
                ScaleMin(sub + 1, scales, out int sc2, out int m2);
                float d1 = d * sc1, min1 = dmin * m1, d2 = d * sc2, min2 = dmin * m2;
                for (int l = 0; l < 32; l++) *dst++ = d1 * (q[l] & 0xF) - min1;
                for (int l = 0; l < 32; l++) *dst++ = d2 * (q[l] >> 4) - min2;
            }
        }
    }

    /// <summary>
    /// Σ d·d_x·Σ_j scale_j·(q·q_x over sub-block j) − dmin·d_x·Σ_j min_j·(Σ q_x over sub-block j); the second sum
    /// comes from Q8_K's stored partial sums.
    /// </summary>
    public static float Dot(byte* w, byte* x, int n)
    {
        float sum = 0;
        sbyte* nib = stackalloc sbyte[Size];
        for (int b = 0; b < n / Size; b++, w += Bytes, x += BlockQ8_K.Bytes)
        {
            byte* scales = w + 4;
            byte* q = w + 16;
            for (int j = 0; j < 4; j++, q += 32)
                for (int l = 0; l < 32; l++)
                {
                    nib[j * 64 + l] = (sbyte)(q[l] & 0xF);
                    nib[j * 64 + 32 + l] = (sbyte)(q[l] >> 4);
                }
            sbyte* qx = BlockQ8_K.Quants(x);
            short* sums = BlockQ8_K.Sums(x);
            int dots = 0, mins = 0;
            for (int j = 0; j < 8; j++)
            {
                ScaleMin(j, scales, out int sc, out int m);
                dots += sc * Int8Dot.Dot32(nib + j * 32, qx + j * 32);
                mins += m * (sums[2 * j] + sums[2 * j + 1]);
            }
            float dx = BlockQ8_K.Scale(x);
            sum += Fp16.Load(w) * dx * dots - Fp16.Load(w + 2) * dx * mins;
        }
        return sum;
    }

    public static float DotScalar(byte* w, byte* x, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / Size; b++, w += Bytes, x += BlockQ8_K.Bytes)
        {
            byte* scales = w + 4;
            byte* q = w + 16;
            sbyte* qx = BlockQ8_K.Quants(x);
            int dots = 0, mins = 0;
            for (int j = 0; j < 8; j++)
            {
                ScaleMin(j, scales, out int sc, out int m);
                int s = 0, sx = 0;
                for (int l = 0; l < 32; l++)
                {
                    int i = j * 32 + l;
                    int v = (j & 1) == 0 ? q[(j / 2) * 32 + l] & 0xF : q[(j / 2) * 32 + l] >> 4;
                    s += v * qx[i];
                    sx += qx[i];
                }
                dots += sc * s;
                mins += m * sx;
            }
            float dx = BlockQ8_K.Scale(x);
            sum += Fp16.Load(w) * dx * dots - Fp16.Load(w + 2) * dx * mins;
        }
        return sum;
    }
}
