namespace Sieve.Fuzz.Core;

/// <summary>
/// Committed reproducers under tests/fixtures/fuzz-regressions/&lt;format&gt;/&lt;case&gt;/. A case folder holds only the
/// files that differ from a seed (SEED names the seed; the first seed when absent), plus CRASH.txt / README.md notes,
/// so a Hugging Face folder case does not have to carry the unchanged weights.
/// </summary>
public sealed record RegressionCase(string Format, string Name, string Dir)
{
    static readonly HashSet<string> Notes = new(StringComparer.OrdinalIgnoreCase) { CrashStore.ReportFile, CrashStore.SeedFile, "README.md" };

    public static List<RegressionCase> Load(string root)
    {
        if (!Directory.Exists(root)) return [];
        return Directory.GetDirectories(root).Order(StringComparer.Ordinal)
            .SelectMany(f => Directory.GetDirectories(f).Order(StringComparer.Ordinal).Select(c => new RegressionCase(Path.GetFileName(f), Path.GetFileName(c), c)))
            .ToList();
    }

    public FuzzInput Input(IFuzzFormat format)
    {
        string seedFile = Path.Combine(Dir, CrashStore.SeedFile);
        string seedName = File.Exists(seedFile) ? File.ReadAllText(seedFile).Trim() : format.Seeds[0].Seed;
        var seed = format.Seeds.FirstOrDefault(s => s.Seed == seedName)
            ?? throw new InvalidDataException($"{Dir}: seed '{seedName}' is not one of {format.Name}'s ({string.Join(", ", format.Seeds.Select(s => s.Seed))})");
        var input = seed;
        foreach (var f in Directory.GetFiles(Dir).Order(StringComparer.Ordinal))
            if (!Notes.Contains(Path.GetFileName(f))) input = input.With(Path.GetFileName(f), File.ReadAllBytes(f));
        return input;
    }
}
