namespace Sieve.Fuzz.Mutators;

/// <summary>Boundary values that break size arithmetic: zero, signs, powers of two and the type limits.</summary>
public static class Interesting
{
    public static readonly long[] Integers =
    [
        0, 1, -1, 2, 3, 7, 8, 16, 31, 32, 33, 63, 64, 127, 128, 255, 256, 1023, 1024, 4096, 32767, 32768, 65535, 65536,
        1 << 20, 1 << 24, int.MaxValue, (long)int.MaxValue + 1, int.MinValue, (long)int.MinValue - 1, uint.MaxValue,
        (long)uint.MaxValue + 1, 1L << 40, long.MaxValue, long.MinValue, long.MaxValue / 2,
    ];

    /// <summary>An interesting integer, or one near <paramref name="original"/> (±1, doubled, halved, negated).</summary>
    public static long Integer(Random rng, long original) => rng.Next(6) switch
    {
        0 => original + 1,
        1 => original - 1,
        2 => unchecked(original * 2),
        3 => original / 2,
        4 => unchecked(-original),
        _ => Integers[rng.Next(Integers.Length)],
    };

    public static readonly double[] Floats =
    [
        0, -0.0, 1, -1, 0.5, 1e-45, 1e-320, 1e38, 3.5e38, 1e308, double.MaxValue, double.NaN,
        double.PositiveInfinity, double.NegativeInfinity, float.Epsilon, 1e-6, 2147483648.0, 9007199254740993.0,
    ];

    public static double Float(Random rng) => Floats[rng.Next(Floats.Length)];

    /// <summary>Integer text for JSON: the values above plus ones no 64-bit type holds.</summary>
    public static string IntegerText(Random rng, long original) => rng.Next(10) switch
    {
        0 => "18446744073709551616",
        1 => "-9223372036854775809",
        2 => "1" + new string('0', 400),
        _ => Integer(rng, original).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
