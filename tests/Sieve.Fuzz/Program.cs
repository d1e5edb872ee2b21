using System.Globalization;
using Sieve.Fuzz.Core;
using Sieve.Fuzz.Seeds;

namespace Sieve.Fuzz;

/// <summary>
/// sieve-fuzz: structure-aware fuzzing of every file a user can hand to Sieve. See README.md.
/// <code>
/// dotnet run --project tests/Sieve.Fuzz -c Release -- --format all --iterations 1000000 --seed 1 --out /tmp/fuzz
/// dotnet run --project tests/Sieve.Fuzz -c Release -- --replay        (every case under tests/fixtures/fuzz-regressions)
/// </code>
/// </summary>
public static class Program
{
    const string Usage = """
        usage: Sieve.Fuzz [--format all|NAME[,NAME...]] [--iterations N] [--seed S] [--seconds-per-format T] [--out DIR] [--repo DIR]
               Sieve.Fuzz --replay [DIR] [--out DIR]
          --format              formats to fuzz, in order (default all): {0}
          --iterations          inputs per format (default 10000)
          --seed                run seed; input i of a format is a pure function of (seed, format, i) (default 1)
          --seconds-per-format  time budget per format; 0 = none (default 0)
          --out                 where failing inputs are saved, one folder per crash class (default: a temp folder)
          --repo                repository root holding the seed fixtures (default: found above this program)
          --dump N              write input N of --format (for --seed) to --out, to inspect or replay it by hand
          --minimize DIR        shrink a saved failure folder (or a folder of them) of --format in place, keeping its class
          --replay              replay every regression case under DIR (default tests/fixtures/fuzz-regressions)
        Exit code: 0 when every input loaded or was refused cleanly, 1 when any crashed, hung or allocated over 1 GiB.
        """;

    public static int Main(string[] args)
    {
        var a = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) return Fail($"unexpected argument '{args[i]}'");
            string key = args[i];
            a[key] = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : null;
        }
        if (a.ContainsKey("--help") || a.ContainsKey("-h")) { Console.WriteLine(string.Format(CultureInfo.InvariantCulture, Usage, Names)); return 0; }
        try
        {
            if (a.TryGetValue("--repo", out var repo) && repo != null) RepoPaths.Root = Path.GetFullPath(repo);
            string outDir = Path.GetFullPath(a.GetValueOrDefault("--out") ?? Path.Combine(Path.GetTempPath(), "sieve-fuzz-" + DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)));
            long start = long.Parse(a.GetValueOrDefault("--start") ?? "0", CultureInfo.InvariantCulture);
            bool replay = a.ContainsKey("--replay");
            string replayRoot = Path.GetFullPath(a.GetValueOrDefault("--replay") ?? RepoPaths.Regressions);

            if (a.ContainsKey("--child"))
                return replay ? ChildLoop.Replay(replayRoot, start, outDir)
                    : ChildLoop.Fuzz(FormatRegistry.Get(a["--format"]!), Int(a, "--seed", 1), start, Long(a, "--iterations", 10_000), Double(a, "--seconds-per-format"), outDir);

            if (a.TryGetValue("--dump", out var dump))
            {
                // Rebuild input N of a format (a pure function of seed, format and N) to look at it or replay it by hand.
                var f = FormatRegistry.Get(a.GetValueOrDefault("--format") ?? throw new ArgumentException("--dump needs --format NAME"));
                var input = Iterations.Input(f, Int(a, "--seed", 1), long.Parse(dump!, CultureInfo.InvariantCulture));
                input.WriteTo(outDir);
                File.WriteAllText(Path.Combine(outDir, CrashStore.SeedFile), input.Seed + "\n");
                Console.WriteLine($"input {dump} of {f.Name} (seed input {input.Seed}) written to {outDir}");
                return 0;
            }
            if (a.TryGetValue("--minimize", out var minimize))
            {
                // Shrink saved failure folders (a case folder, or a folder of them) in place, keeping their class.
                var dirs = File.Exists(Path.Combine(minimize!, CrashStore.SeedFile)) ? [minimize!] : Directory.GetDirectories(minimize!);
                var f = FormatRegistry.Get(a.GetValueOrDefault("--format") ?? throw new ArgumentException("--minimize needs --format NAME"));
                foreach (var d in dirs) Console.WriteLine(Minimizer.Minimize(new RegressionCase(f.Name, Path.GetFileName(d), d), f, Console.Out));
                return 0;
            }
            if (replay)
            {
                var results = Supervisor.Replay(replayRoot, outDir, repo);
                foreach (var (c, r) in results)
                    Console.WriteLine($"{(r.Passed ? "pass" : "FAIL")}  {c.Format}/{c.Name}: {r.Outcome} {r.Signature ?? r.Detail?.Split('\n')[0]}");
                Console.WriteLine($"{results.Count(x => x.Result.Passed)} of {results.Count} regression cases pass");
                return results.All(x => x.Result.Passed) ? 0 : 1;
            }

            string formats = a.GetValueOrDefault("--format") ?? "all";
            var names = formats == "all" ? FormatRegistry.All.Select(f => f.Name).ToList() : formats.Split(',').ToList();
            foreach (var n in names) FormatRegistry.Get(n);
            var options = new Supervisor.Options(names, Long(a, "--iterations", 10_000), Int(a, "--seed", 1), outDir, Double(a, "--seconds-per-format"), repo);
            Console.WriteLine($"fuzzing {string.Join(", ", names)}: {options.Iterations} inputs each, seed {options.Seed}, failures to {outDir}");
            var counts = Supervisor.Fuzz(options, Console.Out);
            Console.WriteLine(FormatCounts.Table(counts));
            return counts.Sum(c => c.Failures) == 0 ? 0 : 1;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or DirectoryNotFoundException or InvalidOperationException)
        {
            return Fail(e.Message);
        }
    }

    static string Names => string.Join(", ", FormatRegistry.All.Select(f => f.Name));
    static int Int(Dictionary<string, string?> a, string k, int d) => a.GetValueOrDefault(k) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : d;
    static long Long(Dictionary<string, string?> a, string k, long d) => a.GetValueOrDefault(k) is { } v ? long.Parse(v, CultureInfo.InvariantCulture) : d;
    static double Double(Dictionary<string, string?> a, string k) => a.GetValueOrDefault(k) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : 0;

    static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 2;
    }
}
