using System.Numerics.Tensors;
using Sieve.Kernels;

namespace Sieve.Cache.Sparse;

/// <summary>StreamingLLM (Xiao et al., ICLR 2024): the first <c>sinks</c> tokens and the most recent ones.</summary>
public sealed class StreamingLlmPress(int sinks = 4) : IKvPress
{
    public string Name => "streamingllm";
    public int Sinks => sinks;

    public void Score(PressInput input, Span<float> scores)
    {
        for (int t = 0; t < input.Store.Count; t++) scores[t] = t < sinks ? float.PositiveInfinity : t;
    }
}

/// <summary>
/// SnapKV (Li et al., NeurIPS 2024): the last <c>window</c> prompt queries vote — their softmax attention over the
/// earlier tokens, averaged over the window and the GQA group, smoothed by 1-D average pooling (kernel 5) — and the
/// window itself is always kept (kvpress's defaults: window 64, kernel 5); without queries it keeps the most recent.
/// </summary>
public sealed class SnapKvPress(int window = 64, int kernel = 5) : IKvPress
{
    public string Name => "snapkv";
    public int Window => window;

    public void Score(PressInput input, Span<float> scores)
    {
        var store = input.Store;
        int n = store.Count, hd = store.HeadDim, w = Math.Min(input.WindowRows, n);
        if (w == 0)
        {
            // No prefill query reached this layer (a KV-only layer, an empty window): keep the most recent tokens.
            for (int t = 0; t < n; t++) scores[t] = t;
            return;
        }
        int prefix = n - w;
        var keys = new float[n * hd];
        store.ReadKeys(0, n, keys);
        var votes = new double[prefix];
        var row = new float[n];
        float scale = 1f / MathF.Sqrt(hd);
        int firstRow = input.WindowRows - w;
        for (int r = 0; r < w; r++)
        {
            int pos = prefix + r;   // the query's own slot: it attends to slots 0..pos
            for (int g = 0; g < input.GroupSize; g++)
            {
                var q = input.WindowQueries.AsSpan(((firstRow + r) * input.GroupSize + g) * hd, hd);
                for (int t = 0; t <= pos; t++) row[t] = TensorPrimitives.Dot(q, keys.AsSpan(t * hd, hd)) * scale;
                Softmax.Apply(row.AsSpan(0, pos + 1));
                for (int t = 0; t < prefix; t++) votes[t] += row[t];
            }
        }
        int half = kernel / 2;
        for (int t = 0; t < prefix; t++)
        {
            // avg_pool1d(kernel, stride 1, padding kernel/2, count_include_pad): the zero padding counts.
            double sum = 0;
            for (int d = -half; d <= half; d++) if (t + d >= 0 && t + d < prefix) sum += votes[t + d];
            scores[t] = (float)(sum / kernel / (w * input.GroupSize));
        }
        // The window outranks every vote (votes are probabilities, at most 1), the most recent first, so a budget
        // smaller than the window keeps its newest tokens.
        for (int t = prefix; t < n; t++) scores[t] = 2 + t;
    }
}

/// <summary>kvpress's Knorm: keep the keys of smallest L2 norm (they draw the most attention, empirically).</summary>
public sealed class KnormPress : IKvPress
{
    public string Name => "knorm";

    public void Score(PressInput input, Span<float> scores)
    {
        var row = new float[input.Store.HeadDim];
        for (int t = 0; t < input.Store.Count; t++)
        {
            input.Store.ReadKey(t, row);
            scores[t] = -TensorPrimitives.Norm(row);
        }
    }
}
