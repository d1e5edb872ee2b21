namespace Sieve.Fuzz.Seeds;

/// <summary>The repository's fixtures (found by walking up to Sieve.slnx), where the seed corpus starts.</summary>
public static class RepoPaths
{
    static string? _root;

    public static string Root
    {
        get => _root ??= Find();
        set => _root = value;
    }

    static string Find()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Sieve.slnx"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException("repository root (Sieve.slnx) not found above " + AppContext.BaseDirectory + "; pass --repo");
    }

    public static string Stories260K(string name) => Path.Combine(Root, "models", "stories260K", name);
    public static string Regressions => Path.Combine(Root, "tests", "fixtures", "fuzz-regressions");
}
