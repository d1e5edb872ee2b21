using System.Numerics.Tensors;
using System.Text;
using Sieve.Tokenization;

namespace Sieve.Generation;

/// <summary>
/// One request's side of generation, apart from the forward pass: the sampler and its history, streaming complete
/// UTF-8 text with stop strings held back, and the stop rules (end of generation, stop string, token budget, full
/// cache). The single-sequence <see cref="Generator"/> and the batching <see cref="Scheduler"/> both drive it, so
/// a request gives the same text either way.
/// </summary>
internal sealed class GenerationState
{
    readonly TextTokenizer _tokenizer;
    readonly GenerationOptions _options;
    readonly ISampler _sampler;
    readonly List<int> _history;
    readonly StreamingText _text;
    readonly int _capacity, _sampleable;
    readonly float[] _logits;
    readonly float[]? _exp;   // scratch for log-probabilities; null when they are off

    public int Generated { get; private set; }
    public string StopReason { get; private set; } = "length";

    /// <param name="capacity">Positions the sequence may fill: the step that would write past it ends generation.</param>
    public GenerationState(TextTokenizer tokenizer, IReadOnlyList<int> prompt, GenerationOptions options, int vocab, int capacity)
    {
        options.Validate();
        _tokenizer = tokenizer; _options = options; _capacity = capacity;
        _sampler = ISampler.Create(options.Sampling);
        _history = new List<int>(prompt);
        _text = new StreamingText(tokenizer, options.StopStrings, stripLeadingSpace: prompt.All(t => t == tokenizer.BosId));
        // The sampler edits logits in place, so it works on a copy of the model's buffer. Only the first
        // `sampleable` are offered to it: a padded vocabulary has more embedding rows than tokens (real checkpoints
        // round the rows up to a multiple of 64 or 128), and an id past the tokenizer has no text, so it must
        // never be drawn, by greedy or any sampler. Leaving those logits out is masking them to -inf.
        _logits = new float[vocab];
        _sampleable = Math.Min(tokenizer.VocabSize, vocab);
        if (options.TopLogprobs >= 0) _exp = new float[_sampleable];
    }

    /// <summary>Positions a request may use: its context option within the model's, and within its sequence's cache.</summary>
    public static int ContextFor(GenerationOptions options, Models.ModelConfig config, Sequence? sequence = null)
    {
        int context = options.ContextLength > 0 ? Math.Min(options.ContextLength, config.ContextLength) : config.ContextLength;
        return sequence != null ? Math.Min(context, sequence.Cache.Capacity) : context;
    }

    /// <summary>The cache a fresh sequence needs: the prompt and the token budget, within the context (MaxTokens may be int.MaxValue).</summary>
    public static int FreshCapacity(IReadOnlyList<int> prompt, GenerationOptions options, int context) =>
        (int)Math.Min(context, (long)prompt.Count + Math.Max(0, options.MaxTokens));

    /// <summary>A prompt must have a token and leave a position for the reply.</summary>
    public static void CheckPrompt(IReadOnlyList<int> prompt, int context)
    {
        if (prompt.Count == 0) throw new ArgumentException("the prompt has no tokens (and the vocabulary adds no BOS)");
        if (prompt.Count >= context) throw new ContextLengthException(prompt.Count, context);
    }

    /// <summary>What one sampled token led to: text to emit (if any), and the token to run next (-1: finished).</summary>
    public readonly record struct Step(GeneratedToken? Emit, int Next);

    /// <summary>Samples from the logits of position <paramref name="pos"/>-1; <paramref name="pos"/> is where the sampled token would go.</summary>
    public Step Advance(ReadOnlySpan<float> logits, int pos)
    {
        if (_options.MaxTokens <= 0) return new Step(null, -1);   // a prefill-only request
        logits.CopyTo(_logits);
        int token = _sampler.Sample(_logits.AsSpan(0, _sampleable), _history, Generated);
        Generated++;
        _history.Add(token);
        if (_options.StopAtEndOfGeneration && (_tokenizer.EndOfGenerationIds.Contains(token) || token == _tokenizer.EosId))
        {
            StopReason = "eos";   // the end token is not part of the reply: no text, and no log-probability entry
            return new Step(null, -1);
        }
        var (piece, stopped) = _text.Add(token);
        // Every sampled token of the reply is emitted (its text may be empty while held back), except one that only
        // completed a stop string; with log-probabilities on, that one too, so each sampled token has its entry.
        GeneratedToken? emit = piece.Length > 0 || !stopped || _exp != null
            ? new GeneratedToken(token, piece) { Logprobs = _exp != null ? Logprobs(logits[.._sampleable], token) : null }
            : null;
        if (stopped) { StopReason = "stop string"; return new Step(emit, -1); }
        if (Generated >= _options.MaxTokens) return new Step(emit, -1);
        if (pos >= _capacity) { StopReason = "context"; return new Step(emit, -1); }
        return new Step(emit, token);
    }

    /// <summary>
    /// log_softmax of the model's raw logits (the sampler worked on a copy): before temperature, penalties and
    /// top-k/top-p, which is what OpenAI's logprobs report and vLLM's default. logZ = max + log Σ exp(x − max): the
    /// exponentials in float, each ≤ 1, summed in double: a float sum over a 150k vocabulary may be off by up to
    /// ~5e-4 relative (150k / 16 vector lanes ≈ 9,400 adds × 6e-8), more than the 1e-4 the tests hold logprobs to.
    /// </summary>
    TokenLogprobs Logprobs(ReadOnlySpan<float> logits, int chosen)
    {
        float max = TensorPrimitives.Max(logits);
        var e = _exp.AsSpan(0, logits.Length);
        TensorPrimitives.Subtract(logits, max, e);
        TensorPrimitives.Exp(e, e);
        double sum = 0;
        foreach (float x in e) sum += x;
        double logZ = max + Math.Log(sum);

        // The n best by insertion into a short sorted list: n ≤ 20, and after the first few hundred logits almost
        // none beats the last kept, so this is one compare per token.
        int n = Math.Min(_options.TopLogprobs, logits.Length), kept = 0;
        var top = new TokenLogprob[n];
        for (int i = 0; i < logits.Length && n > 0; i++)
        {
            if (kept == n && logits[i] <= logits[top[n - 1].Id]) continue;   // ties keep the lower id, already in
            int at = Math.Min(kept, n - 1);
            while (at > 0 && logits[i] > logits[top[at - 1].Id]) { top[at] = top[at - 1]; at--; }
            top[at] = new TokenLogprob(i, 0);
            if (kept < n) kept++;
        }
        for (int i = 0; i < n; i++) top[i] = top[i] with { Logprob = (float)(logits[top[i].Id] - logZ) };
        return new TokenLogprobs((float)(logits[chosen] - logZ), top);
    }

    /// <summary>Text held back at the end (a partial stop string that never completed, or split bytes).</summary>
    public GeneratedToken? Flush()
    {
        var tail = _text.Flush();
        return tail.Length > 0 ? new GeneratedToken(-1, tail) : null;
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
