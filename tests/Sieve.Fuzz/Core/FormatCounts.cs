namespace Sieve.Fuzz.Core;

/// <summary>Per-format tallies of a run, and the crash classes seen with how often.</summary>
public sealed class FormatCounts(string format)
{
    public string Format { get; } = format;
    public long Inputs, Loaded, Refused, Crashes, Hangs, BigAllocations;
    public double MaxMilliseconds, MaxAllocatedMiB;
    public Dictionary<string, long> Classes { get; } = new(StringComparer.Ordinal);
    /// <summary>Where one input of each class was saved.</summary>
    public Dictionary<string, string> Examples { get; } = new(StringComparer.Ordinal);

    public long Failures => Crashes + Hangs + BigAllocations;

    public void Add(InputResult r, string? savedAt = null)
    {
        Inputs++;
        switch (r.Outcome)
        {
            case Outcome.Loaded: Loaded++; break;
            case Outcome.Refused: Refused++; break;
            case Outcome.Crash: Crashes++; break;
            case Outcome.Hang: Hangs++; break;
            case Outcome.BigAllocation: BigAllocations++; break;
        }
        MaxMilliseconds = Math.Max(MaxMilliseconds, r.Milliseconds);
        MaxAllocatedMiB = Math.Max(MaxAllocatedMiB, r.AllocatedMiB);
        if (!r.Passed)
        {
            string key = $"{r.Outcome}: {r.Signature}";
            Classes[key] = Classes.GetValueOrDefault(key) + 1;
            if (savedAt != null) Examples.TryAdd(key, savedAt);
        }
    }

    public static string Table(IEnumerable<FormatCounts> all)
    {
        var rows = all.ToList();
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"{"format",-18} {"inputs",10} {"loaded",9} {"refused",9} {"crashes",8} {"hangs",6} {">1GiB",6} {"max ms",9} {"max MiB",8}");
        foreach (var c in rows)
            sb.AppendLine($"{c.Format,-18} {c.Inputs,10} {c.Loaded,9} {c.Refused,9} {c.Crashes,8} {c.Hangs,6} {c.BigAllocations,6} {c.MaxMilliseconds,9:F1} {c.MaxAllocatedMiB,8:F1}");
        sb.AppendLine($"{"total",-18} {rows.Sum(c => c.Inputs),10} {rows.Sum(c => c.Loaded),9} {rows.Sum(c => c.Refused),9} {rows.Sum(c => c.Crashes),8} {rows.Sum(c => c.Hangs),6} {rows.Sum(c => c.BigAllocations),6}");
        foreach (var c in rows.Where(c => c.Classes.Count > 0))
        {
            sb.AppendLine($"{c.Format} failure classes:");
            foreach (var (k, n) in c.Classes.OrderByDescending(kv => kv.Value))
                sb.AppendLine($"  {n,8} × {k}" + (c.Examples.TryGetValue(k, out var at) ? $"\n             e.g. {at}" : ""));
        }
        return sb.ToString();
    }
}
