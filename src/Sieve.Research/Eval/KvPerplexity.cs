using System.Numerics.Tensors;
using Sieve.Cache;
using Sieve.Models;

namespace Sieve.Eval;

/// <summary>One cache method on one text: perplexity, and against a dense base, KL divergence and top-1 agreement.</summary>
public sealed record KvPerplexityResult(string Method, int Tokens, int Prefix, int Predictions, double Perplexity,
    double? BasePerplexity, double? MeanKl, double? MaxKl, double? Top1Agreement, KvMemory Memory,
    IReadOnlyList<LayerFidelity>? Fidelity, double Seconds);

/// <summary>
/// Perplexity through the decode path, the way a sparse cache is used: the first <c>prefix</c> tokens are prefilled
/// (the cache compresses at the boundary), every later token is decoded one at a time, and each decode step's
/// next-token distribution is scored — so every measured prediction went through the cache's selection. KL
/// divergence and top-1 agreement compare those distributions with a dense base run's (llama-perplexity's
/// <c>--kl-divergence</c> in spirit).
/// </summary>
public static class KvPerplexity
{
    /// <summary>Log-probabilities (vocab-wide) of each decode step's next-token distribution: steps = tokens − prefix − 1.</summary>
    /// <param name="options">Plan (POP) and hooks: the prefix is ingested as a prompt under it (<see cref="ForwardRunner.Ingest"/>), every later token decoded.</param>
    public static float[][] LogProbs(ForwardRunner model, IReadOnlyList<int> tokens, int prefix, IKvCache cache, ForwardOptions? options = null)
    {
        if (prefix < 1 || prefix >= tokens.Count - 1) throw new ArgumentException($"the prefix ({prefix}) must leave at least two tokens of the {tokens.Count} to decode");
        model.Ingest(tokens.Take(prefix).ToArray(), 0, cache, options);
        var rows = new float[tokens.Count - prefix - 1][];
        for (int i = prefix; i < tokens.Count - 1; i++)
        {
            var logits = model.Decode(tokens[i], i, cache, options);
            rows[i - prefix] = LogSoftmax(logits);
        }
        return rows;
    }

    /// <param name="options">Plan (POP), operators (activation sparsity) and hooks of the measured run; the base run is dense with no plan and the model's own operators.</param>
    public static KvPerplexityResult Evaluate(ForwardRunner model, IReadOnlyList<int> tokens, int prefix, KvCacheSpec spec,
        float[][]? baseLogProbs = null, bool computeBase = true, bool fidelity = false, ForwardOptions? options = null) =>
        Evaluate(model, tokens, prefix, spec.ToString(), trace => model.CreateCache(trace ? spec with { Trace = true } : spec, tokens.Count),
            baseLogProbs, computeBase && (spec.Method != "dense" || options?.Plan != null || options?.Operators != null), fidelity, options);

    /// <param name="createCache">Builds the cache; its argument asks for selection traces (fidelity metrics).</param>
    public static KvPerplexityResult Evaluate(ForwardRunner model, IReadOnlyList<int> tokens, int prefix, string name, Func<bool, IKvCache> createCache,
        float[][]? baseLogProbs = null, bool computeBase = true, bool fidelity = false, ForwardOptions? options = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var shape = KvCacheShape.Of(model.Config, tokens.Count);
        var cache = createCache(fidelity);
        using var owned = cache as IDisposable;   // an offloaded cache's file goes when the evaluation ends
        var probe = fidelity ? new KvFidelity(cache, shape) : null;
        var rows = LogProbs(model, tokens, prefix, probe ?? cache, options);
        double seconds = clock.Elapsed.TotalSeconds;
        if (baseLogProbs == null && computeBase)
            baseLogProbs = LogProbs(model, tokens, prefix, model.CreateDenseCache(tokens.Count));
        if (baseLogProbs != null && baseLogProbs.Length != rows.Length)
            throw new ArgumentException($"the KL base holds {baseLogProbs.Length} predictions, this run {rows.Length}: it was made from another text or prefix");

        double Ppl(float[][] r) => Math.Exp(-Enumerable.Range(0, r.Length).Average(i => (double)r[i][tokens[prefix + 1 + i]]));
        double? meanKl = null, maxKl = null, top1 = null;
        if (baseLogProbs != null)
        {
            var kls = rows.Select((r, i) => Kl(baseLogProbs[i], r)).ToArray();
            meanKl = kls.Average();
            maxKl = kls.Max();
            top1 = rows.Select((r, i) => TensorPrimitives.IndexOfMax(r) == TensorPrimitives.IndexOfMax(baseLogProbs[i]) ? 1.0 : 0.0).Average();
        }
        return new KvPerplexityResult(name, tokens.Count, prefix, rows.Length, Ppl(rows),
            baseLogProbs != null ? Ppl(baseLogProbs) : null, meanKl, maxKl, top1, cache.Memory, probe?.Layers(), seconds);
    }

    /// <summary>KL(p ‖ q) = Σ p (log p − log q) for log-probability rows.</summary>
    public static double Kl(ReadOnlySpan<float> logP, ReadOnlySpan<float> logQ)
    {
        double kl = 0;
        for (int i = 0; i < logP.Length; i++)
        {
            double p = Math.Exp(logP[i]);
            if (p > 0) kl += p * (logP[i] - logQ[i]);
        }
        return Math.Max(0, kl);
    }

    static float[] LogSoftmax(ReadOnlySpan<float> logits)
    {
        double max = double.NegativeInfinity;
        foreach (var l in logits) max = Math.Max(max, l);
        double sum = 0;
        foreach (var l in logits) sum += Math.Exp(l - max);
        double log = max + Math.Log(sum);
        var r = new float[logits.Length];
        for (int i = 0; i < r.Length; i++) r[i] = (float)(logits[i] - log);
        return r;
    }


    // ---- the KL base file: llama-perplexity's --kl-divergence-base idea, in a small format of our own ----

    const uint Magic = 0x4C4B5653;   // "SVKL"

    public static void SaveBase(string path, IReadOnlyList<int> tokens, int prefix, float[][] rows)
    {
        using var w = new BinaryWriter(File.Create(path));
        w.Write(Magic); w.Write(1); w.Write(tokens.Count); w.Write(prefix); w.Write(rows.Length); w.Write(rows.Length > 0 ? rows[0].Length : 0);
        foreach (int t in tokens) w.Write(t);
        foreach (var r in rows) foreach (var v in r) w.Write(v);
    }

    public static float[][] LoadBase(string path, IReadOnlyList<int> tokens, int prefix, int vocab)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        using var r = new BinaryReader(File.OpenRead(path));
        long length = r.BaseStream.Length;
        if (length < 24 || r.ReadUInt32() != Magic || r.ReadInt32() != 1) throw new Formats.ModelFileException(path, "not a Sieve KL base file (SVKL v1)");
        int n = r.ReadInt32(), p = r.ReadInt32(), rows = r.ReadInt32(), v = r.ReadInt32();
        if (n != tokens.Count || p != prefix || v != vocab || rows != n - p - 1)
            throw new Formats.ModelFileException(path, $"made for {n} tokens, prefix {p}, vocabulary {v}; this run has {tokens.Count}, {prefix}, {vocab}");
        if (length != 24 + 4L * n + 4L * rows * v) throw new Formats.ModelFileException(path, $"size {length} does not match its header");
        for (int i = 0; i < n; i++)
            if (r.ReadInt32() != tokens[i]) throw new Formats.ModelFileException(path, $"token {i} differs: the base was made from another text");
        var result = new float[rows][];
        for (int i = 0; i < rows; i++)
        {
            result[i] = new float[v];
            for (int j = 0; j < v; j++) result[i][j] = r.ReadSingle();
        }
        return result;
    }
}
