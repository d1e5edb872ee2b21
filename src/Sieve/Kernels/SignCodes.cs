using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sieve.Kernels;

/// <summary>
/// Keys as sign bits, stored transposed in blocks of 16 tokens so one load reads the same byte of 16 tokens
/// (FAISS's "fast-scan" layout). Byte i of a token holds channels 8i..8i+7, bit r = channel 8i+r; its low nibble
/// is 4-channel group 2i, its high nibble group 2i+1. Block b holds <c>codeBytes</c> rows of 16 bytes: row i is
/// byte i of tokens 16b..16b+15.
/// </summary>
/// <remarks>
/// Two scorers read the same bits. The table scorer (Self-Indexing KV's) adds one entry of a 16-entry table per
/// group — T[16g + code] = centroid_g[code]·q_g — and its AVX-512 version looks up 16 tokens at once with
/// <c>vpermps</c> (the table of a group fills one register, the nibble is the lane index), adding the groups in the
/// scalar twin's order so both give bit-identical floats. The Hamming scorer XORs with the query's own sign bits and
/// counts with the <c>vpshufb</c> nibble table (.NET 10 exposes no VPOPCNTDQ/BITALG intrinsic on x86).
/// </remarks>
public static unsafe class SignCodes
{
    public const int BlockTokens = 16;

    public static int CodeBytes(int headDim) => (headDim + 7) / 8;
    public static int Groups(int headDim) => 2 * CodeBytes(headDim);
    public static int BlockBytes(int headDim) => BlockTokens * CodeBytes(headDim);

    /// <summary>Writes the sign bits (x &gt; 0) of one token into its column of the blocked layout.</summary>
    public static void Pack(ReadOnlySpan<float> x, Span<byte> codes, int token)
    {
        int codeBytes = CodeBytes(x.Length);
        int baseOffset = token / BlockTokens * BlockTokens * codeBytes + token % BlockTokens;
        for (int i = 0; i < codeBytes; i++)
        {
            int b = 0;
            for (int r = 0; r < 8 && 8 * i + r < x.Length; r++)
                if (x[8 * i + r] > 0) b |= 1 << r;
            codes[baseOffset + i * BlockTokens] = (byte)b;
        }
    }

    /// <summary>Byte i of token t.</summary>
    public static byte Byte(ReadOnlySpan<byte> codes, int codeBytes, int token, int i) => codes[Offset(codeBytes, token, i)];

    /// <summary>Where byte i of token t lies in the blocked layout.</summary>
    public static int Offset(int codeBytes, int token, int i) => token / BlockTokens * BlockTokens * codeBytes + i * BlockTokens + token % BlockTokens;

    /// <summary>The 4-bit code of group g of token t (bit r = channel 4g+r).</summary>
    public static int Code(ReadOnlySpan<byte> codes, int codeBytes, int token, int g)
    {
        int b = Byte(codes, codeBytes, token, g >> 1);
        return (g & 1) == 0 ? b & 15 : b >> 4;
    }

    // ---------------- table scorer ----------------

    /// <summary>
    /// s_t = Σ_g lut[16g + code_g(t)], groups added in order g = 0, 1, … for the tokens of
    /// <paramref name="blocks"/> blocks (16 scores each).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScoreLut(byte* codes, int blocks, int codeBytes, float* lut, float* scores)
    {
        if (Avx512F.IsSupported)
        {
            int rowBytes = BlockTokens * codeBytes;
            for (int b = 0; b < blocks; b++)
            {
                byte* block = codes + (long)b * rowBytes;
                var acc = Vector512<float>.Zero;
                for (int i = 0; i < codeBytes; i++)
                {
                    var idx = Avx512F.ConvertToVector512Int32(Vector128.Load(block + i * BlockTokens));
                    acc += Avx512F.PermuteVar16x32(Vector512.Load(lut + 32 * i), idx);             // low nibble: vpermps reads index bits 0..3
                    acc += Avx512F.PermuteVar16x32(Vector512.Load(lut + 32 * i + 16), idx >>> 4);  // high nibble
                }
                acc.Store(scores + b * BlockTokens);
            }
            return;
        }
        if (Avx2.IsSupported)
        {
            int rowBytes = BlockTokens * codeBytes;
            var fifteen = Vector256.Create(15);
            for (int b = 0; b < blocks; b++)
            {
                byte* block = codes + (long)b * rowBytes;
                for (int half = 0; half < 2; half++)
                {
                    var acc = Vector256<float>.Zero;
                    for (int i = 0; i < codeBytes; i++)
                    {
                        var idx = Avx2.ConvertToVector256Int32(block + i * BlockTokens + half * 8);
                        acc += Lookup16(lut + 32 * i, idx & fifteen);
                        acc += Lookup16(lut + 32 * i + 16, idx >>> 4);
                    }
                    acc.Store(scores + b * BlockTokens + half * 8);
                }
            }
            return;
        }
        ScoreLutScalar(codes, blocks, codeBytes, lut, scores);
    }

    /// <summary>A 16-entry table lookup from two 8-entry permutes, chosen by index bit 3.</summary>
    static Vector256<float> Lookup16(float* table, Vector256<int> index)
    {
        var lo = Avx2.PermuteVar8x32(Vector256.Load(table), index);
        var hi = Avx2.PermuteVar8x32(Vector256.Load(table + 8), index);
        var useHi = Vector256.GreaterThan(index, Vector256.Create(7)).AsSingle();
        return Vector256.ConditionalSelect(useHi, hi, lo);
    }

    public static void ScoreLutScalar(byte* codes, int blocks, int codeBytes, float* lut, float* scores)
    {
        int rowBytes = BlockTokens * codeBytes;
        for (int b = 0; b < blocks; b++)
            for (int t = 0; t < BlockTokens; t++)
            {
                float s = 0;
                for (int i = 0; i < codeBytes; i++)
                {
                    int code = codes[(long)b * rowBytes + i * BlockTokens + t];
                    s += lut[32 * i + (code & 15)];
                    s += lut[32 * i + 16 + (code >> 4)];
                }
                scores[b * BlockTokens + t] = s;
            }
    }

    // ---------------- Hamming scorer ----------------

    /// <summary>
    /// s_t = channels − 2·popcount(code(t) XOR query): the agreement of the two sign vectors (padding bits are zero
    /// on both sides and never count).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScoreHamming(byte* codes, int blocks, int codeBytes, byte* query, int channels, int* scores)
    {
        if (Avx512BW.IsSupported && codeBytes % 4 == 0)
        {
            // Four rows (64 bytes) per step: lane j of the register is row i+j, XORed with query byte i+j.
            var nibbles = Vector512.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                           0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                           0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                           0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
            var low = Vector512.Create((byte)15);
            int steps = codeBytes / 4;
            var q = stackalloc Vector512<byte>[steps];
            for (int s = 0; s < steps; s++)
                q[s] = Vector512.Create(Vector256.Create(Vector128.Create(query[4 * s]), Vector128.Create(query[4 * s + 1])),
                                        Vector256.Create(Vector128.Create(query[4 * s + 2]), Vector128.Create(query[4 * s + 3])));
            int rowBytes = BlockTokens * codeBytes;
            for (int b = 0; b < blocks; b++)
            {
                byte* block = codes + (long)b * rowBytes;
                var total = Vector512<ushort>.Zero;   // 16-bit counters: no overflow for any head size
                for (int s = 0; s < steps; s++)
                {
                    var x = Vector512.Load(block + 64 * s) ^ q[s];
                    var count = Avx512BW.Shuffle(nibbles, x & low) + Avx512BW.Shuffle(nibbles, (x.AsUInt16() >>> 4).AsByte() & low);
                    total += Vector512.WidenLower(count) + Vector512.WidenUpper(count);
                }
                // WidenLower covers rows 4s, 4s+1 (tokens 0..15, then 0..15 again), WidenUpper rows 4s+2, 4s+3: element
                // e of the sum counts token e mod 16, so folding the halves leaves one counter per token.
                var perToken = total.GetLower() + total.GetUpper();
                for (int t = 0; t < BlockTokens; t++) scores[b * BlockTokens + t] = channels - 2 * perToken.GetElement(t);
            }
            return;
        }
        ScoreHammingScalar(codes, blocks, codeBytes, query, channels, scores);
    }

    public static void ScoreHammingScalar(byte* codes, int blocks, int codeBytes, byte* query, int channels, int* scores)
    {
        int rowBytes = BlockTokens * codeBytes;
        for (int b = 0; b < blocks; b++)
            for (int t = 0; t < BlockTokens; t++)
            {
                int pop = 0;
                for (int i = 0; i < codeBytes; i++)
                    pop += BitOperations.PopCount((uint)(codes[(long)b * rowBytes + i * BlockTokens + t] ^ query[i]));
                scores[b * BlockTokens + t] = channels - 2 * pop;
            }
    }
}
