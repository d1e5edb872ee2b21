using Sieve.Cache;
using Sieve.Models;

namespace Sieve.Pop;

/// <summary>The decode-position loss of one window under two kinds of target, from one pass.</summary>
/// <param name="Sampled">Mean −log p(y) with y drawn from the dense model's own distribution (Fisher targets).</param>
/// <param name="Text">Mean −log p(next text token).</param>
public readonly record struct LossPair(double Sampled, double Text)
{
    public static LossPair operator -(LossPair a, LossPair b) => new(a.Sampled - b.Sampled, a.Text - b.Text);
}

/// <summary>
/// One calibration window, teacher-forced, with one gate moved: the prompt's first P − 1 tokens run as prefill rows,
/// then the boundary token and the continuation as one decode-stage segment of D rows on the same dense cache (the
/// decode rows attend to the prefill's K/V and to each other causally, as D decode steps would).
/// </summary>
/// <remarks>
/// Prefix reuse, which changes no number: a decode-stage gate leaves the prefill's cache as the dense pass wrote it, so
/// only the D decode rows run again; a prefill-stage gate on layer l leaves layers below l alone, so the prefill resumes
/// at l from the residual the dense pass captured there. Measured in layer order, a window's 6L + 1 passes then cost
/// about L + 3·L(L+1)/2 prefill layer-passes instead of (3L + 1)·L. Sliding-window (ring) layers could have evicted the
/// rows a resumed pass needs, so a model with any runs every pass from layer 0.
/// </remarks>
public sealed class WindowLoss
{
    readonly ForwardRunner _runner;
    readonly int[] _prefill, _decode, _text, _sampled;
    readonly DenseKvCache _cache;
    readonly float[][]? _inputs;   // [layer][prefill row · dim]: the residual entering each layer in the dense prefill
    readonly int _layers;
    int _dirtyFrom;                // first layer whose cached prefill K/V may differ from the dense pass's

    public LossPair Dense { get; }

    /// <summary>Forward calls made so far (the dense one included); a decode-only rerun counts as one.</summary>
    public int Passes { get; private set; }

    /// <param name="sampler">Draws the Fisher targets from the dense model's distribution at each decode row.</param>
    /// <param name="reusePrefix">false: every pass runs the whole window from layer 0 (the reference the tests compare against).</param>
    public WindowLoss(ForwardRunner runner, int[] window, int promptLength, Random sampler, bool reusePrefix = true)
    {
        if (promptLength < 2 || promptLength >= window.Length) throw new ArgumentException($"a window of {window.Length} tokens cannot hold a prompt of {promptLength} and a continuation");
        _runner = runner;
        _layers = runner.Config.LayerCount;
        _prefill = window[..(promptLength - 1)];
        _decode = window[(promptLength - 1)..^1];
        _text = window[promptLength..];
        _cache = runner.CreateDenseCache(window.Length);
        bool rings = Enumerable.Range(0, _layers).Any(_cache.IsRing);
        if (reusePrefix && !rings) _inputs = Enumerable.Range(0, _layers).Select(_ => new float[_prefill.Length * runner.Config.Dim]).ToArray();

        var options = _inputs == null ? null : ForwardOptions.WithHooks(new InputCapture(_inputs));
        _runner.Forward(_prefill, 0, _cache, ForwardStage.Prefill, allLogits: false, options);
        Passes++;
        _dirtyFrom = _layers;
        var logits = RunDecode(null);
        _sampled = Sample(logits, runner.Config.VocabSize, sampler);
        Dense = Loss(logits);
    }

    /// <summary>L with <paramref name="stage"/>'s gate on <paramref name="layer"/> at <paramref name="gate"/>, every other gate 1.</summary>
    public LossPair At(ForwardStage stage, int layer, float gate)
    {
        if ((uint)layer >= (uint)_layers) throw new ArgumentOutOfRangeException(nameof(layer), $"layer {layer} is outside 0..{_layers - 1}");
        var options = new ForwardOptions { Gates = LayerGates.One(_layers, stage, layer, gate) };
        var prefillOptions = stage == ForwardStage.Prefill ? options : null;
        if (_inputs == null)
        {
            _runner.Forward(_prefill, 0, _cache, ForwardStage.Prefill, allLogits: false, prefillOptions);
            Passes++;
        }
        else if (stage == ForwardStage.Prefill)
        {
            // Layers below min(l, dirty) hold the dense K/V; from there up the pass reruns, layers ≤ l end dense again
            // (a gate on l changes only what the layers above l see) and the ones above l hold this pass's.
            Resume(Math.Min(layer, _dirtyFrom), options);
            _dirtyFrom = layer + 1;
        }
        else if (_dirtyFrom < _layers)
        {
            Resume(_dirtyFrom, null);   // back to the dense prefill
            _dirtyFrom = _layers;
        }
        return Loss(RunDecode(stage == ForwardStage.Decode ? options : null));
    }

    void Resume(int from, ForwardOptions? options)
    {
        _runner.ResumeFromLayer(from, _inputs![from], 0, _cache, ForwardStage.Prefill, ForwardRunner.LogitRows.None, options);
        Passes++;
    }

    ReadOnlySpan<float> RunDecode(ForwardOptions? options)
    {
        Passes++;
        return _runner.Forward(_decode, _prefill.Length, _cache, ForwardStage.Decode, allLogits: true, options);
    }

    LossPair Loss(ReadOnlySpan<float> logits)
    {
        int vocab = _runner.Config.VocabSize;
        double sampled = 0, text = 0;
        for (int t = 0; t < _text.Length; t++)
        {
            var row = logits.Slice(t * vocab, vocab);
            double lse = LogSumExp(row);
            sampled += lse - row[_sampled[t]];
            text += lse - row[_text[t]];
        }
        return new LossPair(sampled / _text.Length, text / _text.Length);
    }

    static double LogSumExp(ReadOnlySpan<float> row)
    {
        double max = double.NegativeInfinity, sum = 0;
        foreach (float v in row) max = Math.Max(max, v);
        foreach (float v in row) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }

    static int[] Sample(ReadOnlySpan<float> logits, int vocab, Random random)
    {
        var ids = new int[logits.Length / vocab];
        for (int t = 0; t < ids.Length; t++)
        {
            var row = logits.Slice(t * vocab, vocab);
            double lse = LogSumExp(row), u = random.NextDouble(), acc = 0;
            int pick = vocab - 1;
            for (int i = 0; i < vocab; i++)
            {
                acc += Math.Exp(row[i] - lse);
                if (u < acc) { pick = i; break; }
            }
            ids[t] = pick;
        }
        return ids;
    }

    /// <summary>Copies the residual entering each layer at the prefill rows.</summary>
    sealed class InputCapture(float[][] inputs) : IForwardHook
    {
        public bool Wants(ActivationSite site, int layer) => site == ActivationSite.LayerInput;

        public void OnActivation(ActivationSite site, int layer, ForwardStage stage, int startPos, int count, int width, Span<float> values) =>
            values[..(count * width)].CopyTo(inputs[layer].AsSpan(startPos * width));
    }
}
