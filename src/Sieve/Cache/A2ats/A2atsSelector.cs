using Sieve.Cache.Sparse;
using Sieve.Kernels;

namespace Sieve.Cache.A2ats;

/// <summary>
/// A²ATS's decode-time selection (He et al., Findings of ACL 2025; method notes §2.4): every cached key is held as a
/// 12-bit code of its pre-RoPE form in a per-(layer, KV head) codebook; each query head h rotates its query to the
/// fixed distance W (windowed RoPE: q̃ = R_W·q_pre), scores every token by LUT_h[code] with LUT_h = q̃·Cᵀ/√d, and
/// keeps its top K; the group's picks are unioned. Sinks and the local window are not offered (the cache attends
/// them always); attention over the union is exact, on the RoPE'd full-precision rows of the store.
/// </summary>
/// <remarks>
/// The cache hands over post-RoPE keys and queries; the layer's RoPE (from the cache shape) takes them back:
/// k_pre = R_−n·k, and q̃ = R_W·R_−m·q. Both use the engine's own tables, so the conventions (interleaved or
/// rotate-half pairs, llama3 scaling, Gemma 3's linear factor) are the ones the codebooks were fitted with.
/// </remarks>
public sealed class A2atsSelector : ITokenSelector
{
    readonly A2atsCodebooks _books;
    readonly KvCacheShape _shape;

    public A2atsSelector(A2atsCodebooks books, KvCacheShape shape)
    {
        if (books.LayerCount != shape.Layers || books.KvHeadCount != shape.KvHeads || books.HeadDim != shape.HeadDim)
            throw new ArgumentException($"the codebooks are for {books.LayerCount} layers × {books.KvHeadCount} KV heads × head dim {books.HeadDim}; this model has {shape.Layers} × {shape.KvHeads} × {shape.HeadDim}");
        _ = shape.Rope(0);   // fail now, not at the first decode step, when the shape carries no RoPE
        _books = books;
        _shape = shape;
    }

    public string Name => "a2ats";
    public A2atsCodebooks Codebooks => _books;
    /// <summary>The distance W every ranked query is rotated to.</summary>
    public int Window => _books.Window;

    public IHeadSelector CreateHead(int layer, int kvHead) => new Head(this, layer, kvHead);

    /// <summary>q̃ = R_W·R_−m·q for one post-RoPE query head at position <paramref name="position"/> (in place).</summary>
    public void RotateToWindow(int layer, Span<float> query, int position)
    {
        var rope = _shape.Rope(layer);
        rope.ApplyInverse(query, 1, position);
        rope.Apply(query, 1, _books.Window);
    }

    /// <summary>One KV head's codes, one per stored row, kept in step with the store.</summary>
    public sealed class Head(A2atsSelector owner, int layer, int kvHead) : IHeadSelector, IIndexMemory, ICopyableIndex
    {
        const int Tile = 256;
        readonly VqCodebook _book = owner._books.Head(layer, kvHead);
        ushort[] _codes = [];
        int _encoded;

        [ThreadStatic] static Scratch? t_scratch;

        sealed class Scratch
        {
            public float[] Keys = [], Lut = [], Query = [];
            public CodeTopK? TopK;
        }

        /// <summary>Codes of rows [0, Count): the index the selector ranks.</summary>
        public ReadOnlySpan<ushort> Codes => _codes.AsSpan(0, _encoded);
        public long IndexBytes => (long)_codes.Length * sizeof(ushort);
        public double IndexBytesPerToken => sizeof(ushort);

        public void CopyFrom(IHeadSelector source)
        {
            var other = (Head)source;
            _codes = (ushort[])other._codes.Clone();
            _encoded = other._encoded;
        }

        public void Build(IKvStore store) => EncodeFrom(store, Math.Min(_encoded, store.Count));

        public void OnAppend(IKvStore store, int slot) => EncodeFrom(store, Math.Min(_encoded, slot));

        /// <summary>Codes rows [from, store.Count): pre-RoPE keys, a tile at a time (the batched encode is a small GEMM).</summary>
        void EncodeFrom(IKvStore store, int from)
        {
            int n = store.Count, hd = store.HeadDim;
            if (_codes.Length < n) Array.Resize(ref _codes, Math.Max(n, Math.Min(Math.Max(16, _codes.Length * 2), store.Capacity)));
            var rope = owner._shape.Rope(layer);
            var sc = t_scratch ??= new Scratch();
            Ensure(ref sc.Keys, Tile * hd);
            for (int start = from; start < n; start += Tile)
            {
                int m = Math.Min(Tile, n - start);
                store.ReadKeys(start, m, sc.Keys);
                for (int j = 0; j < m; j++) rope.ApplyInverse(sc.Keys.AsSpan(j * hd, hd), 1, store.PositionOf(start + j));
                _book.Encode(sc.Keys.AsSpan(0, m * hd), m, hd, _codes.AsSpan(start, m));
            }
            _encoded = n;
        }

        /// <summary>ŝ(n) = LUT[code(n)] for every coded row, for one post-RoPE query head at <paramref name="position"/> (tests, analysis).</summary>
        public void Scores(ReadOnlySpan<float> query, int position, Span<float> scores)
        {
            var q = query.ToArray();
            owner.RotateToWindow(layer, q, position);
            var lut = new float[_book.LutLength];
            _book.BuildLut(q, lut);
            VqCodebook.Score(lut, Codes, scores);
        }

        public unsafe int Select(IKvStore store, ReadOnlySpan<float> queries, int first, int end, int k, int position, List<int> picked)
        {
            int n = end - first, hd = store.HeadDim, groups = queries.Length / hd;
            if (n <= 0 || k <= 0) return 0;
            k = Math.Min(k, n);
            var sc = t_scratch ??= new Scratch();
            int lut = _book.LutLength;
            Ensure(ref sc.Lut, groups * lut);
            Ensure(ref sc.Query, groups * hd);
            // Every head of the group rotated to the window, then their tables in one pass over the centroids.
            var q = sc.Query.AsSpan(0, groups * hd);
            queries[..(groups * hd)].CopyTo(q);
            for (int g = 0; g < groups; g++) owner.RotateToWindow(layer, q.Slice(g * hd, hd), position);
            _book.BuildLuts(q, groups, hd, sc.Lut);
            return (sc.TopK ??= new CodeTopK()).Select(_codes.AsSpan(first, n), sc.Lut.AsSpan(0, groups * lut), lut, groups, k, first, picked);
        }

        static void Ensure<T>(ref T[] a, int n)
        {
            if (a.Length < n) a = new T[Math.Max(n, a.Length * 2)];
        }
    }
}
