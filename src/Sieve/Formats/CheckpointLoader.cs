using Sieve.Formats.Gguf;
using Sieve.Formats.HuggingFace;
using Sieve.Formats.Llama2c;

namespace Sieve.Formats;

/// <summary>Picks the loader for a path: a Hugging Face folder, a GGUF file, or a llama2.c checkpoint.</summary>
public static class CheckpointLoader
{
    public static LoadedCheckpoint Load(string path) => FormatOf(path) switch
    {
        "huggingface" => HuggingFaceCheckpoint.Load(File.Exists(path) ? System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))! : path),
        "gguf" => GgufCheckpoint.Load(path),
        _ => Llama2cCheckpoint.Load(path),
    };

    /// <summary>"huggingface", "gguf" or "llama2c", decided from the path and the file's first bytes.</summary>
    public static string FormatOf(string path)
    {
        if (Directory.Exists(path)) return "huggingface";   // HuggingFaceCheckpoint names a missing config.json
        if (!File.Exists(path)) throw ModelPath.CannotOpen(path);
        string name = System.IO.Path.GetFileName(path);
        // Pointing at a folder's config.json or weights means the folder.
        if (name == "config.json" || name.EndsWith(".safetensors", StringComparison.Ordinal) || name.EndsWith(".safetensors.index.json", StringComparison.Ordinal))
            return "huggingface";
        if (name.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) || StartsWithGgufMagic(path)) return "gguf";
        return "llama2c";
    }

    static bool StartsWithGgufMagic(string path)
    {
        using var s = ModelPath.OpenRead(path);
        try
        {
            Span<byte> b = stackalloc byte[4];
            return s.ReadAtLeast(b, 4, throwOnEndOfStream: false) == 4 && BitConverter.ToUInt32(b) == GgufFile.Magic;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFileException(path, $"cannot read: {e.Message}", e);
        }
    }
}
