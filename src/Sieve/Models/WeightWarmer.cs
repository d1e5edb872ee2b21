namespace Sieve.Models;

/// <summary>
/// Touches every page of a model's mapped weights once, so the file is read from disk at load time (with
/// progress) rather than during the first forward pass, and the first token's timing is honest.
/// </summary>
public static unsafe class WeightWarmer
{
    const int Page = 4096;

    public static void Warm(ModelWeights w, IProgress<double>? progress = null)
    {
        var tensors = w.Layers.SelectMany(l => new[] { l.Wq, l.Wk, l.Wv, l.Wo, l.Gate, l.Up, l.Down })
            .Append(w.Output).Append(w.TokenEmbedding).Distinct().ToList();
        long total = tensors.Sum(t => t.ByteLength), done = 0;
        int sink = 0;
        foreach (var t in tensors)
        {
            byte* p = t.Data;
            for (long o = 0; o < t.ByteLength; o += Page) sink += p[o];
            done += t.ByteLength;
            progress?.Report(total == 0 ? 1 : (double)done / total);
        }
        GC.KeepAlive(sink);
    }
}
