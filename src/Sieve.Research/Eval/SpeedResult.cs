namespace Sieve.Eval;

/// <summary>One llama-bench row: a prefill (pp) or generation (tg) test over repetitions.</summary>
public sealed record SpeedResult(string Model, string Type, int Threads, int NPrompt, int NGen, double[] Samples)
{
    /// <summary>"pp512" or "tg128", as llama-bench names its tests.</summary>
    public string Test => NPrompt > 0 ? $"pp{NPrompt}" : $"tg{NGen}";
    public double Mean => Samples.Average();
    public double StdDev => Samples.Length < 2 ? 0 : Math.Sqrt(Samples.Sum(s => (s - Mean) * (s - Mean)) / (Samples.Length - 1));
}
