using System.Runtime.CompilerServices;
using Sieve.Kernels;
using Sieve.Models;
using Sieve.Threading;

namespace Sieve.Cache.SelfIndexing;

/// <summary>
/// The Self-Indexing KV cache (Xu Yang et al., arXiv 2603.14224; method notes §1.3): keys kept as sign bits plus
/// 2-bit magnitudes, values as 2-bit codes, and the same sign bits are the index that picks which tokens each
/// decode step attends to.
/// </summary>
/// <remarks>
/// Prefill stores F32 rows and attends densely. At the first decode-stage append of a layer (the prefill/decode
/// boundary) the layer's prompt is compressed head by head (<see cref="SelfIndexHead.Compress"/>) and its F32 rows
/// are released. Each later row attends, per KV head, to the dense set, the top-K compressed tokens by table score
/// of the GQA-averaged query, and the tokens appended since the boundary (the most recent
/// <see cref="SelfIndexOptions.RecentCap"/>), with exact softmax over the dequantised keys and values.
/// <para>Sliding-window layers (a window shorter than the capacity) are never compressed: a ring-buffered F32 store
/// (<see cref="DenseKvCache"/>) attends exactly within the window, which is already the layer's budget; the global
/// layers carry the long context and the method. Gemma 2's soft-cap applies to the final attention scores; the
/// index scores ignore it (c·tanh(s/c) is increasing, so the top-K is unchanged).</para>
/// </remarks>
public sealed class SelfIndexKvCache : IKvCache, ISelectionTrace
{
    readonly KvCacheShape _shape;
    readonly SelfIndexOptions _options;
    readonly WorkerPool? _pool;
    readonly CausalAttention _prefillAttention;
    readonly float[]?[] _prefillK, _prefillV;   // [layer][pos·kvDim + …] until the layer is compressed
    readonly int[] _prefillLength;
    readonly RecentQueries?[] _queries;         // [layer]: the latest prefill queries (the last one picks the dense set)
    readonly SelfIndexHead[]?[] _heads;         // [layer][kvHead] once compressed
    readonly SelectionRecord?[,] _trace;
    readonly float[]?[] _queryMedian;            // [layer][kvHeads·headDim]
    readonly DenseKvCache? _slidingStore;       // the ring-buffered sliding layers; null when every layer is global
    readonly DecodeWork _work;
    int _length;

    public SelfIndexKvCache(KvCacheShape shape, SelfIndexOptions options, WorkerPool? pool = null)
    {
        _shape = shape;
        _options = options;
        _pool = pool;
        _prefillAttention = new CausalAttention(shape, pool);
        _prefillK = new float[shape.Layers][];
        _prefillV = new float[shape.Layers][];
        _prefillLength = new int[shape.Layers];
        _queries = new RecentQueries[shape.Layers];
        _heads = new SelfIndexHead[shape.Layers][];
        _trace = new SelectionRecord[shape.Layers, shape.KvHeads];
        _queryMedian = new float[shape.Layers][];
        if (Enumerable.Range(0, shape.Layers).Any(shape.WindowLimits)) _slidingStore = new DenseKvCache(shape, pool, slidingOnly: true);
        _work = new DecodeWork(this);
    }

    public SelfIndexOptions Options => _options;
    public int Length => _length;
    public int Capacity => _shape.Capacity;

    /// <summary>The ring-buffered store of the sliding layers, or null when every layer is global.</summary>
    public DenseKvCache? SlidingStore => _slidingStore;

    /// <summary>The compressed heads of a layer, or null while it is still in prefill (always null for a sliding layer).</summary>
    public SelfIndexHead[]? Heads(int layer) => _heads[layer];

    public SelectionRecord? LastSelection(int layer, int kvHead) => _trace[layer, kvHead];

    public KvMemory Memory
    {
        get
        {
            // Sliding layers: their rings are a fixed cost (in bytes), nothing per token.
            long bytes = _slidingStore?.Bytes ?? 0;
            double perToken = 0, uncompressed = 0;
            bool compressed = false;
            for (int l = 0; l < _shape.Layers; l++)
            {
                if (_shape.WindowLimits(l)) continue;
                uncompressed += 2.0 * _shape.KvDim * sizeof(float);
                bytes += (_prefillK[l]?.LongLength ?? 0) * 4 + (_prefillV[l]?.LongLength ?? 0) * 4;
                bytes += _queries[l]?.Bytes ?? 0;
                if (_heads[l] is { } heads)
                {
                    compressed = true;
                    foreach (var h in heads) { bytes += h.Bytes; perToken += h.BytesPerSlot; }
                }
                else perToken += 2.0 * _shape.KvDim * sizeof(float);
            }
            // Before any layer is compressed a token costs its F32 rows; after, each compressed layer's per-slot buffers.
            return new KvMemory(bytes, compressed ? perToken : uncompressed, _shape.Layers, _shape.KvHeads);
        }
    }

    public void Append(int layer, ForwardStage stage, int startPos, int count, ReadOnlySpan<float> k, ReadOnlySpan<float> v)
    {
        if (startPos + count > Capacity) throw new InvalidOperationException($"KV cache holds {Capacity} positions; position {startPos + count - 1} does not fit");
        if (_shape.WindowLimits(layer))
        {
            _slidingStore!.Append(layer, stage, startPos, count, k, v);
            _length = Math.Max(_length, startPos + count);
            return;
        }
        int kvDim = _shape.KvDim, hd = _shape.HeadDim;
        if (_heads[layer] == null && stage == ForwardStage.Decode) Compress(layer);
        if (_heads[layer] is { } heads)
        {
            for (int j = 0; j < count; j++)
                for (int h = 0; h < _shape.KvHeads; h++)
                    heads[h].Append(k.Slice(j * kvDim + h * hd, hd), v.Slice(j * kvDim + h * hd, hd));
        }
        else
        {
            if (startPos != _prefillLength[layer]) throw new InvalidOperationException($"prefill rows must arrive in order: expected position {_prefillLength[layer]}, got {startPos}");
            Grow(ref _prefillK[layer], (startPos + count) * kvDim);
            Grow(ref _prefillV[layer], (startPos + count) * kvDim);
            k[..(count * kvDim)].CopyTo(_prefillK[layer].AsSpan(startPos * kvDim));
            v[..(count * kvDim)].CopyTo(_prefillV[layer].AsSpan(startPos * kvDim));
            _prefillLength[layer] = startPos + count;
        }
        _length = Math.Max(_length, startPos + count);
    }

    static void Grow(ref float[]? a, int needed)
    {
        if (a != null && a.Length >= needed) return;
        var b = new float[Math.Max(needed, Math.Min(Array.MaxLength, (a?.Length ?? 0) * 2))];
        a?.CopyTo(b, 0);
        a = b;
    }

    public void Attend(int layer, ForwardStage stage, int startPos, int count, ReadOnlySpan<float> q, Span<float> output)
    {
        if (_shape.WindowLimits(layer))
        {
            _slidingStore!.Attend(layer, stage, startPos, count, q, output);
            return;
        }
        int qDim = _shape.Heads * _shape.HeadDim;
        if (_heads[layer] == null)
        {
            // The Hamming ablation centres its query by the window's median; the others need only the last row.
            (_queries[layer] ??= new RecentQueries(_options.Scorer == SelfIndexScorer.Hamming ? _options.QueryWindow : 1, qDim)).Add(q, count);
            _prefillAttention.Run(_prefillK[layer]!, _prefillV[layer]!, startPos, count, q, output);
            return;
        }
        _work.Run(layer, startPos, count, q, output);
    }

    /// <summary>The prefill/decode boundary of one layer: compress every KV head, release the F32 rows.</summary>
    void Compress(int layer)
    {
        int n = _prefillLength[layer], hd = _shape.HeadDim, kvDim = _shape.KvDim;
        var heads = new SelfIndexHead[_shape.KvHeads];
        var qbar = new float[hd];
        for (int h = 0; h < _shape.KvHeads; h++)
        {
            bool haveQuery = _queries[layer] is { Count: > 0 };
            if (haveQuery) _shape.GroupMean(_queries[layer]!.Row(_queries[layer]!.Count - 1), h, qbar);
            // An empty prompt (decode from nothing) compresses nothing: every token is then a forced recent one.
            var keys = n > 0 ? _prefillK[layer].AsSpan(h * hd) : default;
            var values = n > 0 ? _prefillV[layer].AsSpan(h * hd) : default;
            heads[h] = SelfIndexHead.Compress(keys, values, kvDim, n, hd,
                haveQuery ? qbar : default, _options.DenseSet, Capacity - Math.Min(_options.DenseSet, n), _options.FullPrecisionStorage);
        }
        if (_options.Scorer == SelfIndexScorer.Hamming) _queryMedian[layer] = WindowMedian(layer);
        _heads[layer] = heads;
        _prefillK[layer] = _prefillV[layer] = null;
        _queries[layer] = null;
    }

    /// <summary>Per KV head, the per-channel median of the window's GQA-averaged queries.</summary>
    float[] WindowMedian(int layer)
    {
        int hd = _shape.HeadDim;
        var result = new float[_shape.KvHeads * hd];
        if (_queries[layer] is not { Count: > 0 } window) return result;
        int rows = window.Count;
        var qbar = new float[hd];
        var column = new float[rows * hd];
        for (int h = 0; h < _shape.KvHeads; h++)
        {
            for (int r = 0; r < rows; r++)
            {
                _shape.GroupMean(window.Row(r), h, qbar);
                qbar.CopyTo(column, r * hd);
            }
            var col = new float[rows];
            for (int j = 0; j < hd; j++)
            {
                for (int r = 0; r < rows; r++) col[r] = column[r * hd + j];
                result[h * hd + j] = SelfIndexing.Median.Lower(col);
            }
        }
        return result;
    }

    public void Truncate(int length)
    {
        if (length >= _length) return;
        if (_slidingStore != null && !_slidingStore.RingsHold(length)) length = 0;   // a ring moved past the window: start over
        if (length == 0)
        {
            for (int l = 0; l < _shape.Layers; l++)
            {
                _heads[l] = null; _prefillK[l] = _prefillV[l] = null; _prefillLength[l] = 0;
                _queries[l] = null; _queryMedian[l] = null;
            }
            _slidingStore?.Truncate(0);
            _length = 0;
            return;
        }
        for (int l = 0; l < _shape.Layers; l++)
        {
            if (_heads[l] is { } heads)
            {
                if (length < heads[0].GeneratedStart) throw new NotSupportedException("cannot truncate into a compressed prompt; start a new cache (Truncate(0))");
                foreach (var h in heads) h.TruncateSlots(h.PromptCount + length - h.GeneratedStart);
            }
            else
            {
                _prefillLength[l] = Math.Min(_prefillLength[l], length);
                _queries[l] = null;   // the remembered queries may belong to forgotten positions
            }
        }
        _slidingStore?.Truncate(length);   // after the global layers, which may refuse (a pressed prompt)
        _length = length;
    }

    /// <summary>Decode-path attention: one (row, KV head) per item.</summary>
    sealed unsafe class DecodeWork(SelfIndexKvCache c) : PerKvHeadWork(c._shape, c._pool)
    {
        [ThreadStatic] static Scratch? t_scratch;

        sealed class Scratch
        {
            public float[] Scores = [], KTile = [], VTile = [], Probs = [], Lut = [], Qbar = [];
            public int[] IntScores = [], Picked = [];
            public byte[] QueryBits = [];
        }

        protected override void AttendHead(int row, int kvHead)
        {
            var s = c._shape;
            var o = c._options;
            int hd = s.HeadDim, qDim = s.Heads * hd, pos = Start + row;
            var head = c._heads[Layer]![kvHead];
            var sc = t_scratch ??= new Scratch();

            var qRow = new ReadOnlySpan<float>(Q + row * qDim, qDim);
            Ensure(ref sc.Qbar, hd);
            s.GroupMean(qRow, kvHead, sc.Qbar);

            // Slots: [0, candidates) are scored; [forcedStart, forcedEnd) — tokens since the boundary, up to the cap,
            // never later than this row — are always attended.
            int forcedEnd = head.PromptCount + Math.Max(0, pos + 1 - head.GeneratedStart);
            forcedEnd = Math.Min(forcedEnd, head.Count);
            int forcedStart = Math.Max(head.PromptCount, forcedEnd - o.RecentCap);
            int candidates = forcedStart;
            int k = o.Budget.Resolve(pos + 1, candidates);

            Ensure(ref sc.Picked, Math.Max(k, 1));
            int picked = 0;
            if (k > 0)
            {
                int padded = (candidates + SignCodes.BlockTokens - 1) / SignCodes.BlockTokens * SignCodes.BlockTokens;
                Ensure(ref sc.Scores, padded);
                fixed (float* scores = sc.Scores) fixed (int* pick = sc.Picked)
                {
                    Score(head, kvHead, pos, candidates, padded, sc, scores);
                    picked = TopK.Select(scores, candidates, k, pick);
                }
                Array.Sort(sc.Picked, 0, picked);
            }

            // Gather the attended rows, dequantised: dense set, selected, forced.
            int dense = head.DensePositions.Length, forced = forcedEnd - forcedStart, n = dense + picked + forced;
            Ensure(ref sc.KTile, n * hd);
            Ensure(ref sc.VTile, n * hd);
            Ensure(ref sc.Probs, n);
            head.DenseKeys(0, dense, sc.KTile);
            head.DenseValues(0, dense, sc.VTile);
            for (int i = 0; i < picked + forced; i++)
            {
                int slot = i < picked ? sc.Picked[i] : forcedStart + i - picked;
                head.DecodeKey(slot, sc.KTile.AsSpan((dense + i) * hd, hd));
                head.DecodeValue(slot, sc.VTile.AsSpan((dense + i) * hd, hd));
            }

            float scale = 1f / MathF.Sqrt(hd), cap = s.AttnSoftcap;
            fixed (float* kt = sc.KTile, vt = sc.VTile, p = sc.Probs)
            {
                for (int g = 0; g < s.GroupSize; g++)
                {
                    int h = kvHead * s.GroupSize + g;
                    Attention.Scores(Q + row * qDim + h * hd, kt, hd, n, hd, scale, p);
                    if (cap > 0)
                    {
                        // The rows are median-centred keys: every score is short by scale·q·m. Softmax forgives a shift,
                        // the soft-cap does not, so put it back before capping.
                        var scores = new Span<float>(p, n);
                        float shift = scale * System.Numerics.Tensors.TensorPrimitives.Dot(new ReadOnlySpan<float>(Q + row * qDim + h * hd, hd), head.Median);
                        System.Numerics.Tensors.TensorPrimitives.Add(scores, shift, scores);
                        Softcap.Apply(scores, cap);
                    }
                    Softmax.Apply(new Span<float>(p, n));
                    Attention.WeightedSum(p, vt, hd, n, hd, Out + row * qDim + h * hd);
                }
            }

            if (o.Trace && row == Rows - 1)   // several rows of one call race for the slot: the last row's record is the one kept
                c._trace[Layer, kvHead] = new SelectionRecord(pos,
                    Enumerable.Range(0, candidates).Select(head.PositionOf).ToArray(),
                    sc.Picked.Take(picked).Select(head.PositionOf).ToArray(),
                    head.DensePositions.Concat(Enumerable.Range(forcedStart, forced).Select(head.PositionOf)).ToArray());
        }

        void Score(SelfIndexHead head, int kvHead, int pos, int candidates, int padded, Scratch sc, float* scores)
        {
            int hd = c._shape.HeadDim;
            switch (c._options.Scorer)
            {
                case SelfIndexScorer.Lut:
                    Ensure(ref sc.Lut, SignCodes.Groups(hd) * 16);
                    head.BuildLut(sc.Qbar, sc.Lut);
                    head.ScoreLut(sc.Lut, candidates, scores);
                    break;
                case SelfIndexScorer.Hamming:
                {
                    int codeBytes = SignCodes.CodeBytes(hd);
                    Ensure(ref sc.QueryBits, codeBytes);
                    Array.Clear(sc.QueryBits, 0, codeBytes);
                    var median = c._queryMedian[Layer];
                    for (int j = 0; j < hd; j++)
                        if (sc.Qbar[j] - (median?[kvHead * hd + j] ?? 0) > 0) sc.QueryBits[j >> 3] |= (byte)(1 << (j & 7));
                    Ensure(ref sc.IntScores, padded);
                    fixed (int* ints = sc.IntScores) head.ScoreHamming(sc.QueryBits, candidates, ints);
                    for (int t = 0; t < candidates; t++) scores[t] = sc.IntScores[t];
                    break;
                }
                default:
                    for (int t = 0; t < candidates; t++) scores[t] = RandomScore(Layer, kvHead, pos, t);
                    break;
            }
        }

        static float RandomScore(int layer, int head, int pos, int slot)
        {
            ulong z = (ulong)layer * 0x9E3779B97F4A7C15UL ^ (ulong)head * 0xBF58476D1CE4E5B9UL ^ (ulong)pos * 0x94D049BB133111EBUL ^ (ulong)slot;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return (z ^ (z >> 31)) / (float)ulong.MaxValue;
        }

        static void Ensure<T>(ref T[] a, int n)
        {
            if (a.Length < n) a = new T[Math.Max(n, a.Length * 2)];
        }
    }
}
