using System.Numerics.Tensors;

namespace Sieve.Cache.Sparse;

/// <summary>
/// The exact top-K by q̄·k over the full-precision keys: what every approximate selector tries to find. It reads
/// every key, so it saves nothing; it bounds the accuracy a selector of that budget can reach.
/// </summary>
public sealed class ExactTopKSelector : ITokenSelector
{
    public string Name => "exact-topk";
    public IHeadSelector CreateHead(int layer, int kvHead) => new Head();

    sealed class Head : IHeadSelector
    {
        // Per thread: rows of one KV head may be attended by several workers at once (chunked prefill after the boundary).
        [ThreadStatic] static float[]? t_keys, t_scores;

        public void Build(IKvStore store) { }
        public void OnAppend(IKvStore store, int slot) { }

        public unsafe int Select(IKvStore store, ReadOnlySpan<float> queries, int first, int end, int k, int position, List<int> picked)
        {
            int hd = store.HeadDim, candidates = end - first;
            if (candidates <= 0) return 0;
            Span<float> query = stackalloc float[hd];
            GroupQuery.Mean(queries, hd, query);
            var keys = t_keys is { } tk && tk.Length >= candidates * hd ? tk : (t_keys = new float[candidates * hd]);
            var scores = t_scores is { } ts && ts.Length >= candidates ? ts : (t_scores = new float[candidates]);
            store.ReadKeys(first, candidates, keys);
            for (int t = 0; t < candidates; t++) scores[t] = TensorPrimitives.Dot(query, keys.AsSpan(t * hd, hd));
            var top = new int[Math.Min(k, candidates)];
            int n;
            fixed (float* ps = scores) fixed (int* pt = top) n = Kernels.TopK.Select(ps, candidates, k, pt);
            Array.Sort(top, 0, n);
            for (int i = 0; i < n; i++) picked.Add(first + top[i]);
            return n;
        }
    }
}

/// <summary>K tokens drawn at random (seeded by layer, head and position): the control any selector must beat.</summary>
public sealed class RandomSelector(int seed = 0) : ITokenSelector
{
    public string Name => "random";
    public IHeadSelector CreateHead(int layer, int kvHead) => new Head(seed ^ (layer * 7919) ^ (kvHead * 104729));

    sealed class Head(int seed) : IHeadSelector
    {
        public void Build(IKvStore store) { }
        public void OnAppend(IKvStore store, int slot) { }

        public int Select(IKvStore store, ReadOnlySpan<float> queries, int first, int end, int k, int position, List<int> picked)
        {
            var rng = new Random(seed ^ position * 31);
            var chosen = Enumerable.Range(first, Math.Max(0, end - first)).OrderBy(_ => rng.Next()).Take(k).Order().ToList();
            picked.AddRange(chosen);
            return chosen.Count;
        }
    }
}
