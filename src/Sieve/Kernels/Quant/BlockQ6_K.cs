using Sieve.Tensors;

namespace Sieve.Kernels.Quant;

/// <summary>
/// Q6_K: super-blocks of 256 values in 16 sub-blocks of 16. Layout: 128 bytes of low 4 bits, 64 bytes of high
/// 2 bits, 16 int8 scales, f16 d. Value = d·scale_j·(q − 32). 210 bytes.
/// </summary>
public static unsafe class BlockQ6_K
{
    public const int Size = 256;
    public const int Bytes = 210;

    /// <summary>The 256 six-bit quants of one block, minus 32, in value order.</summary>
    static void Unpack(byte* block, sbyte* q)
    {
        byte* ql = block, qh = block + 128;
        for (int half = 0; half < 2; half++, ql += 64, qh += 32, q += 128)
        {
            for (int l = 0; l < 32; l++)
            {
                q[l] = (sbyte)(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                q[l + 32] = (sbyte)(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                q[l + 64] = (sbyte)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                q[l + 96] = (sbyte)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
        }
    }

    public static void Dequantize(byte* src, float* dst, int n)
    {
        sbyte* q = stackalloc sbyte[Size];
        for (int b = 0; b < n / Size; b++, src += Bytes, dst += Size)
        {
            float d = Fp16.Load(src + 208);
            sbyte* sc = (sbyte*)(src + 192);
            Unpack(src, q);
            // (d·scale)·q in that order, as the reference computes it.
            for (int i = 0; i < Size; i++) dst[i] = d * sc[i / 16] * q[i];
        }
    }

    public static float Dot(byte* w, byte* x, int n)
    {
        float sum = 0;
        sbyte* q = stackalloc sbyte[Size];
        for (int b = 0; b < n / Size; b++, w += Bytes, x += BlockQ8_K.Bytes)
        {
            Unpack(w, q);
            sbyte* sc = (sbyte*)(w + 192);
            sbyte* qx = BlockQ8_K.Quants(x);
            int total = 0;
            for (int j = 0; j < 16; j += 2)
            {
                // Two 16-value sub-blocks share one 32-byte dot; split it back by scale.
                Int8Dot.Dot16x2(q + j * 16, qx + j * 16, out int s0, out int s1);
                total += sc[j] * s0 + sc[j + 1] * s1;
            }
            sum += Fp16.Load(w + 208) * BlockQ8_K.Scale(x) * total;
        }
        return sum;
    }

    public static float DotScalar(byte* w, byte* x, int n)
    {
        float sum = 0;
        sbyte* q = stackalloc sbyte[Size];
        for (int b = 0; b < n / Size; b++, w += Bytes, x += BlockQ8_K.Bytes)
        {
            Unpack(w, q);
            sbyte* sc = (sbyte*)(w + 192);
            sbyte* qx = BlockQ8_K.Quants(x);
            int total = 0;
            for (int j = 0; j < 16; j++)
            {
                int s = 0;
                for (int i = 0; i < 16; i++) s += q[j * 16 + i] * qx[j * 16 + i];
                total += sc[j] * s;
            }
            sum += Fp16.Load(w + 208) * BlockQ8_K.Scale(x) * total;
        }
        return sum;
    }
}
