using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sieve.Kernels.Quant;

/// <summary>The step that weights K-quant sub-block sums by their scales without leaving the integer domain.</summary>
public static class Int16Pairs
{
    /// <summary>acc + pairwise int16 products summed into int lanes (vpdpwssd, or vpmaddwd + vpaddd).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MulAdd(Vector256<int> acc, Vector256<short> a, Vector256<short> b) =>
        AvxVnni.IsSupported ? AvxVnni.MultiplyWideningAndAdd(acc, a, b) : acc + Avx2.MultiplyAddAdjacent(a, b);
}
