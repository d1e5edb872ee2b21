using Sieve.Models;

namespace Sieve.Formats;

/// <summary>
/// The decoder architectures Sieve runs, by their GGUF names, and how each one stores Q and K. One place so the
/// loaders, the converter and the refusal message agree.
/// </summary>
public static class Architectures
{
    public const string Llama = "llama";
    public const string Qwen2 = "qwen2";
    public const string Qwen3 = "qwen3";
    public const string Gemma2 = "gemma2";
    public const string Gemma3 = "gemma3";

    public static IReadOnlyList<string> Supported { get; } = [Llama, Qwen2, Qwen3, Gemma2, Gemma3];

    public static bool IsGemma(string arch) => arch is Gemma2 or Gemma3;

    public static bool IsSupported(string arch) => Supported.Contains(arch);

    /// <summary>
    /// The RoPE pairing that a GGUF file of this architecture implies: llama.cpp's converter permutes the Q/K rows
    /// of <c>llama</c> models so adjacent pairs rotate together, but leaves Qwen's and Gemma's rotate-half order alone.
    /// </summary>
    public static RopeStyle GgufRopeStyle(string arch) => arch == Llama ? RopeStyle.Interleaved : RopeStyle.Neox;

    public static ModelFileException Unsupported(string path, string arch) =>
        new(path, $"unsupported architecture '{arch}' (Sieve runs {string.Join(", ", Supported)})");
}
