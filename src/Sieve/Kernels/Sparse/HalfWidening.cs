using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Sieve.Tensors;

namespace Sieve.Kernels.Sparse;

/// <summary>
/// f16 → f32 in registers, exact for every f16 (.NET exposes no vcvtph2ps). The f16 bits h sit zero-extended in
/// int lanes. With e the 5-bit exponent and m the 10-bit mantissa:
/// <list type="bullet">
/// <item>normal (0 &lt; e &lt; 31): the f32 bits are (|h| &lt;&lt; 13) + (127 − 15) &lt;&lt; 23, the exponent re-biased;</item>
/// <item>∞ and NaN (e = 31): the exponent must become 255, so the re-bias is added twice (31 + 2·112 = 255);</item>
/// <item>zero and subnormal (e = 0), m·2⁻²⁴: built as the normal f32 2⁻¹⁴·(1 + m/1024) minus 2⁻¹⁴, an exact
/// subtraction of two normal floats (no subnormal operand, so no microcode assist);</item>
/// </list>
/// then the sign bit moved from bit 15 to bit 31. The scalar twin is <see cref="Fp16.ToFloat"/>.
/// </summary>
public static class HalfWidening
{
    const int Rebias = (127 - 15) << 23;
    const int ShiftedExponent = 0x7C00 << 13;   // e = 31 after the shift
    const int TwoToMinus14 = 113 << 23;         // 2⁻¹⁴ as f32 bits

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Widen(Vector256<int> h)
    {
        var o = (h & Vector256.Create(0x7FFF)) << 13;
        var exponent = o & Vector256.Create(ShiftedExponent);
        o += Vector256.Create(Rebias);
        o += Vector256.Equals(exponent, Vector256.Create(ShiftedExponent)) & Vector256.Create(Rebias);
        var subnormal = (o + Vector256.Create(1 << 23)).AsSingle() - Vector256.Create(TwoToMinus14).AsSingle();
        var magnitude = Vector256.ConditionalSelect(Vector256.Equals(exponent, Vector256<int>.Zero).AsSingle(), subnormal, o.AsSingle());
        return magnitude | ((h & Vector256.Create(0x8000)) << 16).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Widen(Vector512<int> h)
    {
        var o = (h & Vector512.Create(0x7FFF)) << 13;
        var exponent = o & Vector512.Create(ShiftedExponent);
        o += Vector512.Create(Rebias);
        o += Vector512.Equals(exponent, Vector512.Create(ShiftedExponent)) & Vector512.Create(Rebias);
        var subnormal = (o + Vector512.Create(1 << 23)).AsSingle() - Vector512.Create(TwoToMinus14).AsSingle();
        var magnitude = Vector512.ConditionalSelect(Vector512.Equals(exponent, Vector512<int>.Zero).AsSingle(), subnormal, o.AsSingle());
        return magnitude | ((h & Vector512.Create(0x8000)) << 16).AsSingle();
    }
}
