namespace Sieve.Formats.Gguf;

/// <summary>
/// A metadata array with its element type stated, for when it cannot be inferred from the CLR array
/// (an empty <c>object[]</c>, or to force, say, UInt16 elements).
/// </summary>
public sealed record GgufArray(GgufValueType ElementType, Array Values);
