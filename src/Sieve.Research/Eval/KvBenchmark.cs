using System.Diagnostics;
using Sieve.Cache;
using Sieve.Kernels;
using Sieve.Models;

namespace Sieve.Eval;

/// <summary>One llama-bench row at a depth with a KV-cache method: tokens/s, plus attention time per decode step and KV bytes.</summary>
public sealed record KvSpeedResult(SpeedResult Speed, string Kv, string Budget, int Depth, long KvBytes, double KvBytesPerTokenPerHead, double AttentionMs);

/// <summary>
/// llama-bench's <c>-d</c>: prefill or decode with DEPTH tokens already cached, for any KV-cache method. The cache
/// is filled once — by a real prefill of random tokens, or synthetically — and each repetition starts from that
/// state (the cache is truncated back to DEPTH). A warm-up decode step crosses the prefill/decode boundary first,
/// so compression or indexing is not timed as decode.
/// </summary>
public static class KvBenchmark
{
    /// <summary>
    /// The synthetic fill, so that a 32K point takes seconds instead of a 32K-token prefill: per layer, keys drawn
    /// with a per-channel offset (real keys have non-zero channel means, which is what median centring removes) plus
    /// unit noise, rotated by RoPE at their positions; values unit noise; appended in prefill-stage chunks without
    /// attention, except the last row, which attends (so caches that need a last prompt query see one).
    /// </summary>
    public static void FillSynthetic(ForwardRunner model, IKvCache cache, int depth, int seed = 1)
    {
        var c = model.Config;
        int kvDim = c.KvDim, qDim = c.QDim, chunk = 256;
        var ropes = model.Model.Ropes;   // per layer: Gemma 3's sliding and global layers rotate differently
        var rng = new XorShift((uint)seed * 2654435761u + 1);
        var offset = new float[kvDim];
        for (int i = 0; i < kvDim; i++) offset[i] = rng.NextSigned() * 2f;   // as SyntheticKeyOffset: the same draws
        var k = new float[chunk * kvDim];
        var v = new float[chunk * kvDim];
        var q = new float[qDim];
        var output = new float[qDim];
        for (int l = 0; l < c.LayerCount; l++)
        {
            var rope = ropes[l];
            for (int start = 0; start < depth; start += chunk)
            {
                int n = Math.Min(chunk, depth - start);
                for (int j = 0; j < n; j++)
                {
                    var kj = k.AsSpan(j * kvDim, kvDim);
                    for (int i = 0; i < kvDim; i++) { kj[i] = offset[i] + rng.NextGaussianish(); v[j * kvDim + i] = rng.NextGaussianish(); }
                    rope.Apply(kj, c.KvHeadCount, start + j);
                }
                bool last = start + n == depth;
                cache.Append(l, ForwardStage.Prefill, start, last ? n - 1 : n, k, v);
                if (!last) continue;
                cache.Append(l, ForwardStage.Prefill, depth - 1, 1, k.AsSpan((n - 1) * kvDim), v.AsSpan((n - 1) * kvDim));
                for (int i = 0; i < qDim; i++) q[i] = rng.NextGaussianish();
                rope.Apply(q, c.HeadCount, depth - 1);
                cache.Attend(l, ForwardStage.Prefill, depth - 1, 1, q, output);
            }
        }
    }

    /// <summary>The per-channel offset of <see cref="FillSynthetic"/>'s keys for a seed (its first draws), so codebooks can be fitted to its distribution.</summary>
    public static float[] SyntheticKeyOffset(int kvDim, int seed = 1)
    {
        var rng = new XorShift((uint)seed * 2654435761u + 1);
        var offset = new float[kvDim];
        for (int i = 0; i < kvDim; i++) offset[i] = rng.NextSigned() * 2f;
        return offset;
    }

    /// <summary>Fills by running the model over <paramref name="depth"/> random tokens.</summary>
    public static void FillPrefill(ForwardRunner model, IKvCache cache, int depth) =>
        model.Prefill(RandomTokens(model.Config.VocabSize, depth, 11), 0, cache);

    /// <param name="options">Operators (activation sparsity) the decode steps run with; the fill to the depth runs without them.</param>
    public static KvSpeedResult Decode(ForwardRunner model, KvCacheSpec spec, string modelName, string type, int depth, int nGen, int repetitions, bool synthetic,
        ForwardOptions? options = null)
    {
        var inner = model.CreateCache(spec, depth + nGen + 1);
        using var owned = inner as IDisposable;   // an offloaded cache's file goes when the measurement ends
        var timed = new TimedKvCache(inner);
        if (depth > 0) { if (synthetic) FillSynthetic(model, timed, depth); else FillPrefill(model, timed, depth); }
        var tokens = RandomTokens(model.Config.VocabSize, nGen, 7);
        model.Decode(tokens[0], depth, timed, options);   // warm-up: crosses the boundary (compression, indexing) and JIT-compiles
        var samples = new double[repetitions];
        double attention = 0;
        for (int r = 0; r < repetitions; r++)
        {
            timed.Truncate(depth);
            timed.Reset();
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < nGen; i++) model.Decode(tokens[i], depth + i, timed, options);
            samples[r] = nGen / clock.Elapsed.TotalSeconds;
            attention += timed.AttentionTime.TotalMilliseconds / nGen;
        }
        var memory = timed.Memory;
        return new KvSpeedResult(new SpeedResult(modelName, type, model.Pool.ThreadCount, 0, nGen, samples), spec.Method,
            spec.IsDense ? "" : spec.Budget.ToString(), depth, memory.Bytes, memory.BytesPerTokenPerHead, attention / repetitions);
    }

    /// <param name="options">A POP plan: the prompt is ingested under it (pruned prefill, then the last token at decode depth), so pp is time to the first token's logits.</param>
    public static KvSpeedResult Prefill(ForwardRunner model, KvCacheSpec spec, string modelName, string type, int depth, int nPrompt, int repetitions, bool synthetic,
        ForwardOptions? options = null)
    {
        var cache = model.CreateCache(spec, depth + nPrompt);
        using var owned = cache as IDisposable;
        if (depth > 0) { if (synthetic) FillSynthetic(model, cache, depth); else FillPrefill(model, cache, depth); }
        var tokens = RandomTokens(model.Config.VocabSize, nPrompt, 7);
        model.Ingest(tokens, depth, cache, options);   // warm-up
        var samples = new double[repetitions];
        for (int r = 0; r < repetitions; r++)
        {
            cache.Truncate(depth);
            var clock = Stopwatch.StartNew();
            model.Ingest(tokens, depth, cache, options);
            samples[r] = nPrompt / clock.Elapsed.TotalSeconds;
        }
        var memory = cache.Memory;
        return new KvSpeedResult(new SpeedResult(modelName, type, model.Pool.ThreadCount, nPrompt, 0, samples), spec.Method,
            spec.IsDense ? "" : spec.Budget.ToString(), depth, memory.Bytes, memory.BytesPerTokenPerHead, 0);
    }

    static int[] RandomTokens(int vocab, int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.Next(vocab)).ToArray();
    }

    /// <summary>A fast generator for bulk synthetic rows (hundreds of millions of draws at 32K × layers).</summary>
    public struct XorShift(uint state)
    {
        uint _s = state == 0 ? 1 : state;
        public uint Next() { _s ^= _s << 13; _s ^= _s >> 17; _s ^= _s << 5; return _s; }
        public float NextSigned() => (Next() >> 8) * (2f / (1 << 24)) - 1f;
        /// <summary>The sum of three uniforms, scaled to unit variance: close enough to Gaussian for timing data.</summary>
        public float NextGaussianish() => (NextSigned() + NextSigned() + NextSigned());
    }
}
