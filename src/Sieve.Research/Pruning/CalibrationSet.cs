using Sieve.Eval.Tasks;
using Sieve.Tokenization;

namespace Sieve.Pruning;

/// <summary>
/// Token windows whose negative log-likelihood scores a pruned model (SLEB's criterion). SLEB draws 128 random
/// 2048-token windows of WikiText-2 with seed 0; here the windows come from any text file, or — when none is
/// given — from the task itself (each sample's context followed by its gold answer), so the score needs no
/// extra data.
/// </summary>
public sealed class CalibrationSet
{
    public IReadOnlyList<int[]> Windows { get; }
    public string Source { get; }
    public long Tokens => Windows.Sum(w => (long)w.Length);

    CalibrationSet(IReadOnlyList<int[]> windows, string source)
    {
        if (windows.Count == 0 || windows.Any(w => w.Length < 2)) throw new ArgumentException($"{source}: calibration windows need at least two tokens each");
        Windows = windows; Source = source;
    }

    /// <summary>
    /// <paramref name="count"/> windows of <paramref name="length"/> tokens from the tokenized text: consecutive
    /// when the text holds them all, else at random starts (seeded, reproducible), as SLEB samples them.
    /// </summary>
    public static CalibrationSet FromText(TextTokenizer tokenizer, string path, int length, int count, int seed = 0)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        if (length < 2 || count < 1) throw new ArgumentException($"calibration windows of {length} tokens × {count} are empty");
        var tokens = tokenizer.Encode(File.ReadAllText(path));
        if (tokens.Length < 2) throw new Formats.ModelFileException(path, "the calibration text has fewer than two tokens");
        var windows = new List<int[]>();
        if (tokens.Length <= length) windows.Add(tokens);
        else if ((long)length * count >= tokens.Length)
            for (int s = 0; s + 1 < tokens.Length && windows.Count < count; s += length) windows.Add(tokens[s..Math.Min(tokens.Length, s + length)]);
        else
        {
            var random = new Random(seed);
            for (int i = 0; i < count; i++)
            {
                int s = random.Next(0, tokens.Length - length);
                windows.Add(tokens[s..(s + length)]);
            }
        }
        return new CalibrationSet(windows, $"{Path.GetFileName(path)}: {windows.Count} × ≤{length} tokens, seed {seed}");
    }

    /// <summary>Each sample's gold request (context + gold continuation) as one window.</summary>
    public static CalibrationSet FromTask(TextTokenizer tokenizer, IReadOnlyList<McqSample> samples, int maxLength)
    {
        var windows = samples.Select(s =>
        {
            var (ctx, cont) = s.Request(s.Gold);
            var t = tokenizer.Encode(ctx + cont);
            return t.Length > maxLength ? t[^maxLength..] : t;
        }).Where(t => t.Length >= 2).ToList();
        return new CalibrationSet(windows, $"the task's gold answers ({windows.Count} samples)");
    }
}
