namespace Sieve.Tests;

/// <summary>Paths of the fixtures that ship in the repository (never the shared folder beside the checkout).</summary>
public static class Fixtures
{
    public static string RepoRoot { get; } = FindRoot();

    static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Sieve.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root (Sieve.slnx) not found above " + AppContext.BaseDirectory);
    }

    public static string Models => Path.Combine(RepoRoot, "models");
    public static string Dir => Path.Combine(RepoRoot, "tests", "fixtures");

    public static string Stories260KGguf => Path.Combine(Models, "stories260K", "stories260K.gguf");
    public static string Stories260KBin => Path.Combine(Models, "stories260K", "stories260K.bin");
    public static string Stories260KV1Bin => Path.Combine(Models, "stories260K", "stories260K-v1.bin");
    public static string Tok512 => Path.Combine(Models, "stories260K", "tok512.bin");
    public static string Oracles => Path.Combine(Models, "stories260K", "oracles.json");
    public static string TinyRandomGguf => Path.Combine(Dir, "llama2-tiny-random-gguf", "llama-2-tiny-random.gguf");
    public static string Gpt2Folder => Path.Combine(Dir, "gpt2-fake-hf");
    public static string Vocab(string name) => Path.Combine(Dir, "llamacpp-vocab", $"ggml-vocab-{name}.gguf");
    public static string TinyK(string suffix) => Path.Combine(Dir, "tiny-k-quants", $"tiny-k-{suffix}.gguf");

    /// <summary>A scratch folder under the system temp dir, unique per call.</summary>
    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "sieve-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }
}
