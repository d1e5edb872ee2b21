using Sieve.Eval.Tasks;
using Sieve.Fuzz.Core;

namespace Sieve.Fuzz.Targets;

/// <summary>
/// What <c>sieve eval --task FILE</c> does before scoring: <see cref="McqTask.Load"/> (JSONL or Parquet by
/// extension) with a layout and rendering, k-shot assembly, and each choice's request. A loaded sample must be
/// scorable: at least two choices, none null, the gold answer among them, one option label per choice.
/// </summary>
public static class TaskTarget
{
    /// <summary>The harness's per-input options file (not read by Sieve): the layout, rendering and limit to load with.</summary>
    public const string OptionsFile = "fuzz-options.txt";

    public static string Options(Random rng)
    {
        string format = rng.Next(3) == 0 ? McqTask.Formats[rng.Next(McqTask.Formats.Length)] : "auto";
        return $"{format} {(rng.Next(4) == 0 ? McqRendering.Lettered : McqRendering.Native)} {(rng.Next(4) == 0 ? 1 : 0)}";
    }

    public static void Run(string path, string options)
    {
        var o = options.Split(' ');
        string format = o.Length > 0 ? o[0] : "auto";
        var rendering = o.Length > 1 && Enum.TryParse<McqRendering>(o[1], out var r) ? r : McqRendering.Native;
        int limit = o.Length > 2 && int.TryParse(o[2], out var l) ? l : 0;

        var samples = McqTask.Load(path, format, limit, rendering);
        foreach (var s in samples) Check(s);
        var shot = McqTask.WithShots(samples[0], samples.Skip(1).Take(2).ToList());
        for (int i = 0; i < shot.Choices.Count; i++) { shot.Request(i); shot.NormLength(i); }
    }

    static void Check(McqSample s)
    {
        if (s.Context == null) throw new InvariantViolation("null context", $"sample {s.Id}");
        if (s.Choices.Count < 2) throw new InvariantViolation("fewer than two choices", $"sample {s.Id} has {s.Choices.Count}");
        if (s.Choices.Any(c => c == null)) throw new InvariantViolation("null choice", $"sample {s.Id}");
        if (s.Gold < 0 || s.Gold >= s.Choices.Count) throw new InvariantViolation("gold answer outside the choices", $"sample {s.Id}: gold {s.Gold} of {s.Choices.Count}");
        if (s.OptionLabels != null && (s.OptionLabels.Count != s.Choices.Count || s.OptionLabels.Any(x => x == null)))
            throw new InvariantViolation("option labels do not match the choices", $"sample {s.Id}");
    }
}
