namespace Sieve.Fuzz.Core;

/// <summary>
/// One input: the files a user would hand to Sieve, by name (one file for a GGUF, several for a Hugging Face
/// folder). <see cref="Seed"/> names the seed it was mutated from, so a reproducer can be rebuilt from its changed
/// files alone.
/// </summary>
public sealed record FuzzInput(string Seed, IReadOnlyDictionary<string, byte[]> Files)
{
    /// <summary>A copy with <paramref name="name"/> replaced (or added).</summary>
    public FuzzInput With(string name, byte[] bytes)
    {
        var files = new Dictionary<string, byte[]>(Files, StringComparer.Ordinal) { [name] = bytes };
        return this with { Files = files };
    }

    /// <summary>Writes every file into <paramref name="dir"/>, which is emptied first.</summary>
    public void WriteTo(string dir)
    {
        if (Directory.Exists(dir))
            foreach (var f in Directory.EnumerateFileSystemEntries(dir))
            {
                if (Directory.Exists(f)) Directory.Delete(f, recursive: true);
                else File.Delete(f);
            }
        else Directory.CreateDirectory(dir);
        foreach (var (name, bytes) in Files) File.WriteAllBytes(Path.Combine(dir, name), bytes);
    }

    public long TotalBytes => Files.Values.Sum(b => (long)b.Length);
}
