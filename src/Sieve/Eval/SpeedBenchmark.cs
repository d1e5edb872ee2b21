using System.Diagnostics;
using Sieve.Models;

namespace Sieve.Eval;

/// <summary>
/// Measures prefill and decode throughput the way llama-bench does: a warm-up, then R repetitions of pp N (one
/// prompt of N tokens from an empty cache) and tg N (N single-token decodes from an empty cache), each reported
/// as tokens per second.
/// </summary>
public static class SpeedBenchmark
{
    public static SpeedResult Prefill(Transformer model, string modelName, string type, int nPrompt, int repetitions)
    {
        var tokens = RandomTokens(model.Config.VocabSize, nPrompt);
        var cache = model.CreateDenseCache(nPrompt);
        model.Prefill(tokens, 0, cache);   // warm-up: pages the weights in, JIT-compiles the kernels
        var samples = new double[repetitions];
        for (int r = 0; r < repetitions; r++)
        {
            cache.Truncate(0);
            var clock = Stopwatch.StartNew();
            model.Prefill(tokens, 0, cache);
            samples[r] = nPrompt / clock.Elapsed.TotalSeconds;
        }
        return new SpeedResult(modelName, type, model.Pool.ThreadCount, nPrompt, 0, samples);
    }

    public static SpeedResult Decode(Transformer model, string modelName, string type, int nGen, int repetitions)
    {
        var tokens = RandomTokens(model.Config.VocabSize, nGen);
        var cache = model.CreateDenseCache(nGen);
        model.Decode(tokens[0], 0, cache);   // warm-up
        var samples = new double[repetitions];
        for (int r = 0; r < repetitions; r++)
        {
            cache.Truncate(0);
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < nGen; i++) model.Decode(tokens[i], i, cache);
            samples[r] = nGen / clock.Elapsed.TotalSeconds;
        }
        return new SpeedResult(modelName, type, model.Pool.ThreadCount, 0, nGen, samples);
    }

    static int[] RandomTokens(int vocab, int n)
    {
        var rng = new Random(7);
        return Enumerable.Range(0, n).Select(_ => rng.Next(vocab)).ToArray();
    }
}
