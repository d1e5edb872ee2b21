using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sieve.Kernels.Quant;

/// <summary>Exact int8·int8 dot products of short runs, the inner step of the K-quant kernels.</summary>
public static unsafe class Int8Dot
{
    /// <summary>Σ a[i]·b[i] over 32 signed bytes (a never −128).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Dot32(sbyte* a, sbyte* b)
    {
        if (Avx2.IsSupported)
        {
            var p = Partial(Vector256.Load(a), Vector256.Load(b));
            return Vector256.Sum(p);
        }
        int s = 0;
        for (int i = 0; i < 32; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>The dots of the two 16-byte halves of a 32-byte run.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Dot16x2(sbyte* a, sbyte* b, out int first, out int second)
    {
        if (Avx2.IsSupported)
        {
            var p = Partial(Vector256.Load(a), Vector256.Load(b));
            first = Vector128.Sum(p.GetLower());
            second = Vector128.Sum(p.GetUpper());
            return;
        }
        int s0 = 0, s1 = 0;
        for (int i = 0; i < 16; i++) { s0 += a[i] * b[i]; s1 += a[i + 16] * b[i + 16]; }
        first = s0; second = s1;
    }

    /// <summary>Eight int32 partial sums; lanes 0–3 cover bytes 0–15, lanes 4–7 bytes 16–31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Partial(Vector256<sbyte> a, Vector256<sbyte> b)
    {
        var ua = Avx2.Abs(a);
        var sb = Avx2.Sign(b, a);
        if (AvxVnni.IsSupported) return AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, ua, sb);
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(ua, sb), Vector256<short>.One);
    }
}
