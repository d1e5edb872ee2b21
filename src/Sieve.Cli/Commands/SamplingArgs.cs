using System.CommandLine;
using Sieve.Generation;

namespace Sieve.Cli.Commands;

/// <summary>
/// The sampling options of <c>run</c> and <c>chat</c>, with llama.cpp's names, defaults and special values: temp 0 is
/// greedy, top-k 0, top-p 1, min-p 0 and repeat-penalty 1 turn that step off, repeat-last-n -1 looks back over the
/// whole context, seed -1 (the default) draws a random seed, which is printed so the run can be repeated.
/// </summary>
sealed class SamplingArgs
{
    readonly Option<float> _temp = new Option<float>("--temp") { Description = "Temperature; 0 = greedy", DefaultValueFactory = _ => 0.8f }
        .Within(0, float.MaxValue, rule: "must be a finite number, 0 (greedy) or more");
    readonly Option<int> _topK = new Option<int>("--top-k") { Description = "Top-k (0 = off)", DefaultValueFactory = _ => 40 }
        .AtLeast(0, "must be a whole number, 0 (off) or more");
    readonly Option<float> _topP = new Option<float>("--top-p") { Description = "Top-p / nucleus (1 = off)", DefaultValueFactory = _ => 0.95f }
        .Within(0, 1, rule: "must be a number from 0 to 1 (1 = off)");
    readonly Option<float> _minP = new Option<float>("--min-p") { Description = "Min-p (0 = off)", DefaultValueFactory = _ => 0.05f }
        .Within(0, 1, rule: "must be a number from 0 (off) to 1");
    // Positive logits are divided by the penalty and negative ones multiplied: 0 divides by zero, and a negative
    // penalty flips signs, so neither means anything.
    readonly Option<float> _repeat = new Option<float>("--repeat-penalty") { Description = "Repetition penalty (1 = off)", DefaultValueFactory = _ => 1.0f }
        .Within(0, float.MaxValue, aboveMin: true, rule: "must be a finite number above 0 (1 = off)");
    readonly Option<int> _repeatN = new Option<int>("--repeat-last-n") { Description = "Tokens the repetition penalty looks back over (0 = off, -1 = the whole context)", DefaultValueFactory = _ => 64 }
        .AtLeastOrMinusOne(0, "must be a whole number, 0 (off) or more, or -1 (the whole context)");
    readonly Option<long> _seed = new Option<long>("--seed", "-s") { Description = "Random seed (-1: a random seed, printed to stderr)", DefaultValueFactory = _ => -1 }.Seed();
    readonly Option<string> _sampler = new("--sampler") { Description = "Sampler: 'chain' (llama.cpp order) or 'llama2c' (llama2.c's run.c exactly: temperature and top-p only)", DefaultValueFactory = _ => "chain" };

    public IEnumerable<Option> All => [_temp, _topK, _topP, _minP, _repeat, _repeatN, _seed, _sampler];

    /// <summary>
    /// The seed <see cref="Read"/> drew when none was given and sampling is random, to print beside the timings so
    /// the run can be repeated (null for greedy decoding, which draws nothing, or a given seed).
    /// </summary>
    public long? RandomSeed { get; private set; }

    /// <summary>The options as given; a random seed is drawn here (not in the sampler) so that it can be reported.</summary>
    public SamplingOptions Read(ParseResult r)
    {
        string sampler = r.GetValue(_sampler)!.ToLowerInvariant();
        if (sampler is not ("chain" or "llama2c")) throw new ArgumentException($"--sampler: unknown sampler '{sampler}' (chain, llama2c)");
        float temp = r.GetValue(_temp);
        long given = r.GetValue(_seed), seed = given >= 0 ? given : Random.Shared.NextInt64(1, long.MaxValue);
        RandomSeed = given < 0 && temp > 0 ? seed : null;
        int lastN = r.GetValue(_repeatN);
        return new SamplingOptions
        {
            Temperature = temp, TopK = r.GetValue(_topK), TopP = r.GetValue(_topP), MinP = r.GetValue(_minP),
            RepeatPenalty = r.GetValue(_repeat), RepeatLastN = lastN < 0 ? int.MaxValue : lastN,
            Seed = (ulong)seed, Llama2cCompatible = sampler == "llama2c",
        };
    }
}
