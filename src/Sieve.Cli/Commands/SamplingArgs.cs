using System.CommandLine;
using Sieve.Generation;

namespace Sieve.Cli.Commands;

/// <summary>The sampling options of <c>run</c> and <c>chat</c>, with llama.cpp's names and defaults.</summary>
sealed class SamplingArgs
{
    readonly Option<float> _temp = new("--temp") { Description = "Temperature; 0 = greedy", DefaultValueFactory = _ => 0.8f };
    readonly Option<int> _topK = new("--top-k") { Description = "Top-k (0 = off)", DefaultValueFactory = _ => 40 };
    readonly Option<float> _topP = new("--top-p") { Description = "Top-p / nucleus (1 = off)", DefaultValueFactory = _ => 0.95f };
    readonly Option<float> _minP = new("--min-p") { Description = "Min-p (0 = off)", DefaultValueFactory = _ => 0.05f };
    readonly Option<float> _repeat = new("--repeat-penalty") { Description = "Repetition penalty (1 = off)", DefaultValueFactory = _ => 1.0f };
    readonly Option<int> _repeatN = new("--repeat-last-n") { Description = "Tokens the repetition penalty looks back over", DefaultValueFactory = _ => 64 };
    readonly Option<ulong?> _seed = new("--seed", "-s") { Description = "Random seed (default: time)" };
    readonly Option<string> _sampler = new("--sampler") { Description = "Sampler: 'chain' (llama.cpp order) or 'llama2c' (llama2.c's run.c exactly: temperature and top-p only)", DefaultValueFactory = _ => "chain" };

    public IEnumerable<Option> All => [_temp, _topK, _topP, _minP, _repeat, _repeatN, _seed, _sampler];

    public SamplingOptions Read(ParseResult r)
    {
        string sampler = r.GetValue(_sampler)!.ToLowerInvariant();
        if (sampler is not ("chain" or "llama2c")) throw new ArgumentException($"unknown sampler '{sampler}' (chain, llama2c)");
        float temp = r.GetValue(_temp), topP = r.GetValue(_topP), minP = r.GetValue(_minP);
        if (temp < 0) throw new ArgumentException("--temp must be >= 0");
        if (topP is < 0 or > 1) throw new ArgumentException("--top-p must be in [0, 1]");
        if (minP is < 0 or > 1) throw new ArgumentException("--min-p must be in [0, 1]");
        return new SamplingOptions
        {
            Temperature = temp, TopK = Math.Max(0, r.GetValue(_topK)), TopP = topP, MinP = minP,
            RepeatPenalty = r.GetValue(_repeat), RepeatLastN = Math.Max(0, r.GetValue(_repeatN)),
            Seed = r.GetValue(_seed), Llama2cCompatible = sampler == "llama2c",
        };
    }
}
