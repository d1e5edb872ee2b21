using System.Text;

namespace Sieve.Fuzz.Core;

/// <summary>
/// Writes failing inputs under OUT/&lt;format&gt;/&lt;class&gt;/&lt;iteration&gt;/: the input's files, SEED (the seed it
/// came from) and CRASH.txt (what happened). At most <see cref="PerClass"/> inputs are kept per crash class; a
/// directory in this layout can be copied into tests/fixtures/fuzz-regressions/&lt;format&gt;/ as a regression case.
/// </summary>
public static class CrashStore
{
    public const int PerClass = 3;
    public const string ReportFile = "CRASH.txt";
    public const string SeedFile = "SEED";

    /// <summary>Saves only the files that differ from the input's seed (the replay fills in the rest).</summary>
    public static string? Save(string outDir, IFuzzFormat format, long iteration, FuzzInput input, InputResult result)
    {
        string classDir = Path.Combine(outDir, format.Name, Slug($"{result.Outcome}-{result.Signature}"));
        Directory.CreateDirectory(classDir);
        if (Directory.GetDirectories(classDir).Length >= PerClass) return null;
        string dir = Path.Combine(classDir, iteration.ToString());
        var seed = format.Seeds.FirstOrDefault(s => s.Seed == input.Seed);
        var changed = input.Files.Where(f => seed == null || !seed.Files.TryGetValue(f.Key, out var b) || !b.AsSpan().SequenceEqual(f.Value));
        new FuzzInput(input.Seed, changed.ToDictionary()).WriteTo(dir);
        File.WriteAllText(Path.Combine(dir, SeedFile), input.Seed + "\n");
        File.WriteAllText(Path.Combine(dir, ReportFile),
            $"format: {format.Name}\niteration: {iteration}\nseed input: {input.Seed}\noutcome: {result.Outcome}\nclass: {result.Signature}\n" +
            $"time: {result.Milliseconds:F1} ms, allocated: {result.AllocatedMiB:F1} MiB\n\n{result.Detail}\n");
        return dir;
    }

    public static string Slug(string s)
    {
        var b = new StringBuilder();
        foreach (char c in s) b.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        var slug = b.ToString();
        return slug.Length > 120 ? slug[..120] : slug;
    }
}
