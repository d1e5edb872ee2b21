namespace Sieve.Tensors;

/// <summary>
/// One row of the dispatch table: how a type packs values into blocks and which activation format its dot
/// product pairs with (ggml's <c>type_traits</c> / <c>vec_dot_type</c>).
/// </summary>
/// <param name="BlockSize">Values per block (1 for plain floats).</param>
/// <param name="BlockBytes">Bytes per block.</param>
/// <param name="VecDotType">The format activations are converted to before a dot product with this type.</param>
/// <param name="Supported">Whether a weight of this type can be run: it has a dot-product kernel in
/// <c>Kernels.VecDot</c> (a test keeps the two in step). Loaders refuse weights of other types.</param>
public sealed record TypeInfo(GgmlType Type, string Name, int BlockSize, int BlockBytes, GgmlType VecDotType, bool Supported)
{
    public bool IsQuantized => BlockSize > 1;

    /// <summary>Bytes of a row of <paramref name="n"/> values; <paramref name="n"/> must be a multiple of the block size.</summary>
    public long RowBytes(long n) => n / BlockSize * BlockBytes;
}

public static class TypeTraits
{
    // Q8_K is an activation-only type (f32 scale, 256 int8 values, 16 int16 partial sums): quantized to and
    // dequantized from, but no kernel multiplies a Q8_K weight, so it is not Supported as a weight.
    static readonly Dictionary<GgmlType, TypeInfo> Table = new TypeInfo[]
    {
        new(GgmlType.F32, "F32", 1, 4, GgmlType.F32, true),
        new(GgmlType.F16, "F16", 1, 2, GgmlType.F32, true),
        new(GgmlType.BF16, "BF16", 1, 2, GgmlType.F32, true),
        new(GgmlType.Q8_0, "Q8_0", 32, 34, GgmlType.Q8_0, true),
        new(GgmlType.Q4_0, "Q4_0", 32, 18, GgmlType.Q8_0, true),
        new(GgmlType.Q4_K, "Q4_K", 256, 144, GgmlType.Q8_K, true),
        new(GgmlType.Q6_K, "Q6_K", 256, 210, GgmlType.Q8_K, true),
        new(GgmlType.Q8_K, "Q8_K", 256, 292, GgmlType.Q8_K, false),
        new(GgmlType.Q4_1, "Q4_1", 32, 20, GgmlType.Q8_1, false),
        new(GgmlType.Q5_0, "Q5_0", 32, 22, GgmlType.Q8_0, false),
        new(GgmlType.Q5_1, "Q5_1", 32, 24, GgmlType.Q8_1, false),
        new(GgmlType.Q8_1, "Q8_1", 32, 36, GgmlType.Q8_1, false),
        new(GgmlType.Q2_K, "Q2_K", 256, 84, GgmlType.Q8_K, false),
        new(GgmlType.Q3_K, "Q3_K", 256, 110, GgmlType.Q8_K, false),
        new(GgmlType.Q5_K, "Q5_K", 256, 176, GgmlType.Q8_K, false),
        new(GgmlType.I8, "I8", 1, 1, GgmlType.I8, false),
        new(GgmlType.I16, "I16", 1, 2, GgmlType.I16, false),
        new(GgmlType.I32, "I32", 1, 4, GgmlType.I32, false),
        new(GgmlType.I64, "I64", 1, 8, GgmlType.I64, false),
        new(GgmlType.F64, "F64", 1, 8, GgmlType.F64, false),
    }.ToDictionary(t => t.Type);

    /// <summary>The weight types Sieve runs, for error messages: "F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K".</summary>
    public static string SupportedNames { get; } = string.Join(", ", Table.Values.Where(t => t.Supported).Select(t => t.Name));

    public static bool TryGet(GgmlType type, out TypeInfo info) => Table.TryGetValue(type, out info!);

    public static TypeInfo Of(GgmlType type) =>
        Table.TryGetValue(type, out var info) ? info : throw new NotSupportedException($"unknown tensor type {(uint)type}");
}
