using System.Diagnostics;
using System.Text;
using Sieve.Cache;
using Sieve.Models;
using Sieve.Tokenization;

namespace Sieve.Generation;

/// <summary>
/// Prompt in, tokens out: prefill the prompt, then decode one token at a time, sampling, streaming the text as
/// complete UTF-8, and stopping on end-of-generation ids, stop strings, the token budget or the context end.
/// </summary>
public sealed class Generator(Transformer model, TextTokenizer tokenizer)
{
    public Transformer Model { get; } = model;
    public TextTokenizer Tokenizer { get; } = tokenizer;
    public GenerationStats? LastStats { get; private set; }

    /// <summary>Creates the KV cache a generation uses; replace to run with a compressed or sparse cache.</summary>
    public Func<int, IKvCache> CacheFactory { get; set; } = capacity => model.CreateDenseCache(capacity);

    public IEnumerable<GeneratedToken> Generate(string prompt, GenerationOptions options, CancellationToken cancel = default) =>
        Generate(Tokenizer.Encode(prompt), options, cancel);

    public IEnumerable<GeneratedToken> Generate(IReadOnlyList<int> prompt, GenerationOptions options, CancellationToken cancel = default)
    {
        int context = options.ContextLength > 0 ? Math.Min(options.ContextLength, Model.Config.ContextLength) : Model.Config.ContextLength;
        if (prompt.Count == 0) throw new ArgumentException("the prompt has no tokens (and the vocabulary adds no BOS)");
        if (prompt.Count >= context) throw new ContextLengthException(prompt.Count, context);
        options.Sampling.Validate();
        if (options.StopStrings.Any(string.IsNullOrEmpty)) throw new ArgumentException("a stop string is empty (it would match before every token)");
        int capacity = (int)Math.Min(context, (long)prompt.Count + Math.Max(0, options.MaxTokens));   // MaxTokens may be int.MaxValue
        var cache = CacheFactory(capacity);
        var sampler = ISampler.Create(options.Sampling);
        var history = new List<int>(prompt);
        var text = new StreamingText(Tokenizer, options.StopStrings, stripLeadingSpace: prompt.All(t => t == Tokenizer.BosId));

        var clock = Stopwatch.StartNew();
        // The sampler edits logits in place, so it works on a copy of the model's buffer. Only the first
        // `sampleable` are offered to it: a padded vocabulary has more embedding rows than tokens (real checkpoints
        // round the rows up to a multiple of 64 or 128), and an id past the tokenizer has no text, so it must
        // never be drawn, by greedy or any sampler. Leaving those logits out is masking them to -inf.
        var logits = new float[Model.Config.VocabSize];
        int sampleable = Math.Min(Tokenizer.VocabSize, logits.Length);
        Model.Prefill(prompt.ToArray(), 0, cache).CopyTo(logits);
        double prefill = clock.Elapsed.TotalSeconds;
        clock.Restart();
        int generated = 0;
        string reason = "length";
        int pos = prompt.Count;
        while (generated < options.MaxTokens)
        {
            cancel.ThrowIfCancellationRequested();
            int token = sampler.Sample(logits.AsSpan(0, sampleable), history);
            generated++;
            history.Add(token);
            if (options.StopAtEndOfGeneration && (Tokenizer.EndOfGenerationIds.Contains(token) || token == Tokenizer.EosId))
            {
                reason = "eos";
                break;
            }
            var (piece, stopped) = text.Add(token);
            if (piece.Length > 0 || !stopped) yield return new GeneratedToken(token, piece);
            if (stopped) { reason = "stop string"; break; }
            if (generated == options.MaxTokens) break;
            if (pos >= capacity) { reason = "context"; break; }
            Model.Decode(token, pos++, cache).CopyTo(logits);
        }
        var tail = text.Flush();
        if (tail.Length > 0) yield return new GeneratedToken(-1, tail);
        LastStats = new GenerationStats(prompt.Count, prefill, generated, clock.Elapsed.TotalSeconds, reason);
    }

    /// <summary>Complete characters from token bytes, with text that may start a stop string held back.</summary>
    sealed class StreamingText(TextTokenizer tokenizer, IReadOnlyList<string> stops, bool stripLeadingSpace)
    {
        readonly TokenStreamDecoder _decoder = new(tokenizer, atTextStart: stripLeadingSpace);
        readonly StringBuilder _pending = new();
        readonly int _hold = stops.Count == 0 ? 0 : stops.Max(s => s.Length) - 1;

        public (string Text, bool Stopped) Add(int token)
        {
            _pending.Append(_decoder.Append(token));
            string s = _pending.ToString();
            foreach (var stop in stops)
            {
                int at = stop.Length == 0 ? -1 : s.IndexOf(stop, StringComparison.Ordinal);
                if (at >= 0) { _pending.Clear(); return (s[..at], true); }
            }
            int release = Math.Max(0, s.Length - _hold);
            _pending.Remove(0, release);
            return (s[..release], false);
        }

        public string Flush()
        {
            _pending.Append(_decoder.Flush());
            var s = _pending.ToString();
            _pending.Clear();
            return s;
        }
    }
}
