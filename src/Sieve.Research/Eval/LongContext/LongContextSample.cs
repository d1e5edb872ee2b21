namespace Sieve.Eval.LongContext;

/// <summary>How a task's output is scored (RULER's metrics, and the passkey test's).</summary>
public enum LongContextScoring
{
    /// <summary>RULER's string_match_all: the share of the references found in the output (case-insensitive).</summary>
    MatchAll,
    /// <summary>Passkey: the first integer in the output equals the key.</summary>
    FirstInteger,
}

/// <summary>
/// One long-context sample: the context (prefilled, where a press compresses), then the question and answer prefix
/// (fed through the decode path, so selectors really choose for them), then <see cref="TokensToGenerate"/> greedy
/// tokens scored against <see cref="Answers"/>.
/// </summary>
public sealed record LongContextSample(string Task, int Index, string Context, string Question, IReadOnlyList<string> Answers,
    int TokensToGenerate, LongContextScoring Scoring)
{
    public string Prompt => Context + Question;

    /// <summary>Score of an output in [0, 1].</summary>
    public double Score(string output)
    {
        if (Scoring == LongContextScoring.FirstInteger)
        {
            var m = System.Text.RegularExpressions.Regex.Match(output, @"\d+");
            return m.Success && m.Value == Answers[0] ? 1 : 0;
        }
        return Answers.Count(a => output.Contains(a, StringComparison.OrdinalIgnoreCase)) / (double)Answers.Count;
    }
}
