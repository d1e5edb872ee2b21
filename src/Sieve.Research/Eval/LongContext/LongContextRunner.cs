using System.Numerics.Tensors;
using System.Diagnostics;
using Sieve.Cache;
using Sieve.Models;
using Sieve.Tokenization;

namespace Sieve.Eval.LongContext;

/// <summary>One sample's outcome.</summary>
public sealed record LongContextOutput(int Index, int PromptTokens, int QuestionTokens, string Output, double Score);

/// <summary>One task under one cache method and budget: the mean score (0–100, as RULER reports) over its samples.</summary>
public sealed record LongContextResult(string Task, string Kv, string Budget, int ContextTokens, int Samples, double Score,
    double Seconds, long KvBytes, IReadOnlyList<LongContextOutput> Outputs);

/// <summary>
/// Runs long-context samples the way the method notes ask (Quest's passkey script, kvpress's pipeline): prefill the
/// context (a press compresses it at the boundary), feed the question and answer prefix one token at a time through
/// the decode path (so a selector picks for every question token), then decode greedily and score.
/// </summary>
public static class LongContextRunner
{
    /// <param name="createCache">Builds each sample's cache (default: <paramref name="spec"/> for the model); a seam for wrappers.</param>
    public static LongContextResult Run(ForwardRunner model, TextTokenizer tokenizer, IReadOnlyList<LongContextSample> samples, KvCacheSpec spec, int contextTokens,
        Func<int, IKvCache>? createCache = null, ForwardOptions? options = null)
    {
        var clock = Stopwatch.StartNew();
        var outputs = new List<LongContextOutput>();
        long kvBytes = 0;
        foreach (var s in samples)
        {
            var full = tokenizer.Encode(s.Prompt);
            var context = tokenizer.Encode(s.Context);
            // The context's tokens as they appear inside the whole prompt (tokenization may merge across the seam).
            int split = 0;
            while (split < context.Length && split < full.Length - 1 && context[split] == full[split]) split++;
            split = Math.Max(1, split);
            int capacity = full.Length + s.TokensToGenerate;
            if (capacity > model.Config.ContextLength)
                throw new ArgumentException($"{s.Task}: {capacity} tokens exceed the model's context of {model.Config.ContextLength}");
            var cache = createCache?.Invoke(capacity) ?? model.CreateCache(spec, capacity);
            using var owned = cache as IDisposable;   // one cache per sample: an offloaded one's file goes with it
            // The context is the prompt (a POP plan prunes its prefill; its last token at decode depth).
            var logits = model.Ingest(full[..split], 0, cache, options);
            int pos = split;
            for (; pos < full.Length; pos++) logits = model.Decode(full[pos], pos, cache, options);
            var generated = new List<int>();
            for (int t = 0; t < s.TokensToGenerate; t++)
            {
                // Rows past the tokenizer (a padded vocabulary) have no text and are never chosen.
                int next = TensorPrimitives.IndexOfMax(logits[..Math.Min(logits.Length, tokenizer.VocabSize)]);
                if (next == tokenizer.EosId || tokenizer.EndOfGenerationIds.Contains(next)) break;
                generated.Add(next);
                if (t + 1 == s.TokensToGenerate) break;
                logits = model.Decode(next, pos++, cache, options);
            }
            kvBytes = Math.Max(kvBytes, cache.Memory.Bytes);
            var text = tokenizer.Decode(generated);
            outputs.Add(new LongContextOutput(s.Index, full.Length, full.Length - split, text, s.Score(text)));
        }
        return new LongContextResult(samples.Count > 0 ? samples[0].Task : "", spec.Method, spec.IsDense ? "" : spec.Budget.ToString(), contextTokens,
            outputs.Count, outputs.Count > 0 ? 100 * outputs.Average(o => o.Score) : 0, clock.Elapsed.TotalSeconds, kvBytes, outputs);
    }

}
