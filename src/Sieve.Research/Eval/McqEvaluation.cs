using Sieve.Eval.Tasks;

namespace Sieve.Eval;

/// <summary>The run record of <c>sieve eval mcq</c>.</summary>
public sealed record McqEvaluation(string Model, string Task, int Samples, double Acc, double AccStderr, double AccNorm, double AccNormStderr, double Seconds, IReadOnlyList<McqSampleResult> Results)
{
    public static McqEvaluation Run(McqScorer scorer, IReadOnlyList<McqSample> samples, string model, string task, IProgress<int>? progress = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var results = new List<McqSampleResult>(samples.Count);
        foreach (var s in samples)
        {
            results.Add(scorer.Score(s));
            progress?.Report(results.Count);
        }
        double acc = results.Average(r => r.Correct ? 1.0 : 0.0);
        double accNorm = results.Average(r => r.CorrectNorm ? 1.0 : 0.0);
        // The harness's stderr of a mean of 0/1 outcomes: sqrt(p(1-p)/(n-1)).
        double Se(double p) => results.Count > 1 ? Math.Sqrt(p * (1 - p) / (results.Count - 1)) : 0;
        return new McqEvaluation(model, task, results.Count, acc, Se(acc), accNorm, Se(accNorm), clock.Elapsed.TotalSeconds, results);
    }
}
