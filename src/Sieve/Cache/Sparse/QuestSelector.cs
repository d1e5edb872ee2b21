namespace Sieve.Cache.Sparse;

/// <summary>
/// Quest (Tang et al., ICML 2024): the cache in pages of 16 tokens, each page keeping the channel-wise minimum and
/// maximum of its keys. A page's score U = Σ_j max(q_j·min_j, q_j·max_j) bounds the largest q·k inside it; the
/// top ⌈K/16⌉ pages are attended in full. The query is the GQA-averaged one, as for every selector here.
/// </summary>
public sealed class QuestSelector(int pageSize = 16) : ITokenSelector
{
    public string Name => "quest";
    public int PageSize => pageSize;
    public IHeadSelector CreateHead(int layer, int kvHead) => new Head(pageSize);

    sealed class Head(int pageSize) : IHeadSelector
    {
        float[] _min = [], _max = [];
        int _pages;
        float[] _row = [];

        public void Build(IKvStore store)
        {
            _pages = 0;
            for (int s = 0; s < store.Count; s++) OnAppend(store, s);
        }

        public void OnAppend(IKvStore store, int slot)
        {
            int hd = store.HeadDim, page = slot / pageSize;
            if (_row.Length < hd) _row = new float[hd];
            store.ReadKey(slot, _row);
            if ((page + 1) * hd > _min.Length)
            {
                Array.Resize(ref _min, Math.Max((page + 1) * hd, _min.Length * 2));
                Array.Resize(ref _max, _min.Length);
            }
            var mn = _min.AsSpan(page * hd, hd);
            var mx = _max.AsSpan(page * hd, hd);
            if (slot % pageSize == 0 || page >= _pages)
            {
                _row.AsSpan(0, hd).CopyTo(mn);
                _row.AsSpan(0, hd).CopyTo(mx);
                _pages = Math.Max(_pages, page + 1);
                return;
            }
            for (int j = 0; j < hd; j++) { mn[j] = MathF.Min(mn[j], _row[j]); mx[j] = MathF.Max(mx[j], _row[j]); }
        }

        public unsafe int Select(IKvStore store, ReadOnlySpan<float> queries, int first, int candidates, int k, int position, List<int> picked)
        {
            int hd = store.HeadDim, pages = (candidates + pageSize - 1) / pageSize, firstPage = first / pageSize;
            int want = Math.Min(pages - firstPage, (k + pageSize - 1) / pageSize);
            if (want <= 0) return 0;
            Span<float> query = stackalloc float[hd];
            GroupQuery.Mean(queries, hd, query);
            var scores = new float[pages];
            for (int p = 0; p < firstPage; p++) scores[p] = float.NegativeInfinity;   // pages wholly before the candidates
            for (int p = firstPage; p < pages; p++)
            {
                float u = 0;
                var mn = _min.AsSpan(p * hd, hd);
                var mx = _max.AsSpan(p * hd, hd);
                for (int j = 0; j < hd; j++) u += MathF.Max(query[j] * mn[j], query[j] * mx[j]);
                scores[p] = u;
            }
            var top = new int[want];
            fixed (float* ps = scores) fixed (int* pt = top) Kernels.TopK.Select(ps + firstPage, pages - firstPage, want, pt);
            for (int i = 0; i < want; i++) top[i] += firstPage;
            Array.Sort(top);
            int before = picked.Count;
            foreach (int p in top)
                for (int s = Math.Max(first, p * pageSize); s < Math.Min(candidates, (p + 1) * pageSize); s++) picked.Add(s);
            return picked.Count - before;
        }
    }
}
