using Sieve.Fuzz.Json;

namespace Sieve.Fuzz.Core;

/// <summary>
/// Shrinks a saved failure in place while it keeps failing the same way (same outcome and class): JSON files lose
/// every property and array element they can spare; other files lose as much of their tail as they can. Runs the
/// target in this process, so it is for crashes, not hangs (a hang case is left as it is).
/// </summary>
public static class Minimizer
{
    public static string Minimize(RegressionCase c, IFuzzFormat format, TextWriter log)
    {
        string report = Path.Combine(c.Dir, CrashStore.ReportFile);
        if (File.Exists(report) && File.ReadAllText(report).Contains("outcome: Hang", StringComparison.Ordinal))
            return $"{c.Name}: a hang, left as it is (running it here would block)";
        string work = Path.Combine(Path.GetTempPath(), "sieve-fuzz-min", Guid.NewGuid().ToString("N"));
        var input = c.Input(format);
        var first = InputRunner.Run(format, input, work);
        if (first.Passed || first.Outcome == Outcome.Hang) return $"{c.Name}: {first.Outcome}, left as it is";
        bool Same(FuzzInput candidate)
        {
            var r = InputRunner.Run(format, candidate, work);
            return r.Outcome == first.Outcome && r.Signature == first.Signature;
        }
        var changed = Directory.GetFiles(c.Dir).Select(Path.GetFileName).Where(n => input.Files.ContainsKey(n!) && n != Targets.TaskTarget.OptionsFile).ToList();
        foreach (var name in changed)
        {
            long before = input.Files[name!].Length;
            input = name!.EndsWith(".json", StringComparison.Ordinal) ? ShrinkJson(input, name, Same) : ShrinkTail(input, name, Same);
            File.WriteAllBytes(Path.Combine(c.Dir, name), input.Files[name]);
            log.WriteLine($"{c.Format}/{c.Name}/{name}: {before} -> {input.Files[name].Length} bytes, still {first.Outcome}: {first.Signature}");
        }
        try { Directory.Delete(work, true); } catch (IOException) { }
        return $"{c.Name}: {first.Signature}";
    }

    static FuzzInput ShrinkJson(FuzzInput input, string name, Func<FuzzInput, bool> same)
    {
        JNode root;
        try { root = JNode.Parse(input.Files[name]); }
        catch (Exception) { return ShrinkTail(input, name, same); }
        bool progress = true;
        while (progress)
        {
            progress = false;
            var slots = JSlot.All(root);
            for (int i = slots.Count - 1; i >= 0; i--)
            {
                var trial = root.Clone();
                var s = JSlot.All(trial);
                if (i >= s.Count) continue;
                s[i].Remove();
                var candidate = input.With(name, trial.ToBytes());
                if (same(candidate)) { root = trial; input = candidate; progress = true; break; }
            }
        }
        return input;
    }

    static FuzzInput ShrinkTail(FuzzInput input, string name, Func<FuzzInput, bool> same)
    {
        var bytes = input.Files[name];
        for (int cut = bytes.Length / 2; cut > 0; cut /= 2)
            while (bytes.Length > cut && same(input.With(name, bytes[..^cut]))) { bytes = bytes[..^cut]; input = input.With(name, bytes); }
        return input;
    }
}
