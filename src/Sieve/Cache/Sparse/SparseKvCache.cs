using System.Runtime.CompilerServices;
using Sieve.Kernels;
using Sieve.Models;
using Sieve.Threading;

namespace Sieve.Cache.Sparse;

/// <summary>
/// Full-precision keys and values per KV head (F32 or F16) with the engine's two KV seams: a press
/// (<see cref="IKvPress"/>) that evicts at the prefill/decode boundary, and a selector (<see cref="ITokenSelector"/>)
/// that picks the top-K tokens at each decode step. With neither it is the dense F16 (or F32) cache.
/// </summary>
/// <remarks>
/// The boundary of a layer is its first decode-stage append: the press runs over the prompt rows, the selector
/// builds its index. Prefill attends densely and causally over what is stored. A decode row attends, per KV head,
/// to the selector's picks among the older rows plus every row appended since the boundary (the most recent
/// <see cref="SparseKvOptions.RecentCap"/>); without a selector, to everything stored up to its position.
/// <para>Sliding-window layers (a window shorter than the capacity: Gemma's local layers) bypass the press and the
/// selector: a ring-buffered F32 store (<see cref="DenseKvCache"/>) attends exactly within the window. The window is
/// already the layer's budget — a few hundred to a few thousand recent tokens — so selecting inside it would save
/// little and lose the exactness the model was trained with; the global layers are where the context grows.</para>
/// <para>Gemma 2's attention soft-cap applies in the final exact attention over the attended rows. Selectors score
/// without it: c·tanh(s/c) is increasing, so the top-K by score is the same set either way.</para>
/// </remarks>
public sealed class SparseKvCache : IKvCache, ISelectionTrace, IDisposable
{
    readonly KvCacheShape _shape;
    readonly SparseKvOptions _o;
    readonly WorkerPool? _pool;
    readonly Storage.IKvTier _tier;
    readonly IKvStore[][] _stores;
    readonly IHeadSelector[]?[] _selectors;
    readonly bool[] _crossed;
    readonly RecentQueries?[] _window;   // [layer]: the latest prefill queries, for a press, a selector or a boundary store
    readonly SelectionRecord?[,] _trace;
    readonly DenseKvCache? _slidingStore;  // the ring-buffered sliding layers; null when every layer is global
    readonly Work _work;
    int _length;

    /// <remarks>Rows for the whole capacity are allocated up front, as llama.cpp allocates its KV cache for n_ctx; a press
    /// shrinks them to what it keeps plus room for the rest of the capacity.</remarks>
    public SparseKvCache(KvCacheShape shape, SparseKvOptions options, WorkerPool? pool = null)
    {
        _shape = shape;
        _o = options;
        _pool = pool;
        _tier = options.Tier.Create(shape);
        _stores = new IKvStore[shape.Layers][];
        for (int l = 0; l < shape.Layers; l++)
        {
            _stores[l] = new IKvStore[shape.KvHeads];
            // A sliding layer's stores stay empty (one row): its keys live in the ring store.
            int rows = shape.WindowLimits(l) ? 1 : shape.Capacity;
            for (int h = 0; h < shape.KvHeads; h++) _stores[l][h] = _tier.CreateStore(l, h, shape.HeadDim, options.Element, trackPositions: options.Press != null, rows);
        }
        _selectors = new IHeadSelector[shape.Layers][];
        _crossed = new bool[shape.Layers];
        _window = new RecentQueries[shape.Layers];
        _trace = new SelectionRecord[shape.Layers, shape.KvHeads];
        if (Enumerable.Range(0, shape.Layers).Any(shape.WindowLimits)) _slidingStore = new DenseKvCache(shape, pool, slidingOnly: true);
        _work = new Work(this);
    }

    public SparseKvOptions Options => _o;
    public int Length => _length;
    public int Capacity => _shape.Capacity;
    /// <summary>A global layer's rows of one KV head (a sliding layer's store is empty: see <see cref="SlidingStore"/>).</summary>
    public IKvStore Store(int layer, int kvHead) => _stores[layer][kvHead];
    /// <summary>The selector index of a layer's KV head once the layer crossed the boundary; null before, or without a selector.</summary>
    public IHeadSelector? Selector(int layer, int kvHead) => _selectors[layer]?[kvHead];

    /// <summary>Where this cache's rows live (an offloaded tier counts what it reads back).</summary>
    public Storage.IKvTier Tier => _tier;

    /// <summary>Releases the tier (an offloaded tier's file).</summary>
    public void Dispose() => _tier.Dispose();
    /// <summary>The ring-buffered store of the sliding layers, or null when every layer is global.</summary>
    public DenseKvCache? SlidingStore => _slidingStore;
    public SelectionRecord? LastSelection(int layer, int kvHead) => _trace[layer, kvHead];

    public KvMemory Memory
    {
        get
        {
            // Per token: a row of every global layer's KV heads; the sliding layers' rings are a fixed cost (in bytes).
            // An offloaded tier's rows count apart: RAM holds what the store keeps resident plus the selectors' indexes.
            // A compressing store reports its own per-token cost (F32 rows while it buffers, its codes after).
            long bytes = _slidingStore?.Bytes ?? 0, offloaded = 0;
            double rowPerToken = 0, indexPerToken = 0;
            for (int l = 0; l < _shape.Layers; l++)
            {
                if (_shape.WindowLimits(l)) continue;
                foreach (var s in _stores[l]) { bytes += s.Bytes; offloaded += s.OffloadedBytes; rowPerToken += s.BytesPerToken; }
                if (_selectors[l] is { } heads)
                    foreach (var h in heads)
                        if (h is IIndexMemory m) { bytes += m.IndexBytes; indexPerToken += m.IndexBytesPerToken; }
            }
            foreach (var w in _window) bytes += w?.Bytes ?? 0;
            if (offloaded > 0) rowPerToken = 0;
            return new KvMemory(bytes, rowPerToken + indexPerToken, _shape.Layers, _shape.KvHeads) { OffloadedBytes = offloaded };
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
        if (stage == ForwardStage.Decode && !_crossed[layer]) Cross(layer);
        int kvDim = _shape.KvDim, hd = _shape.HeadDim;
        var selectors = _selectors[layer];
        for (int j = 0; j < count; j++)
            for (int h = 0; h < _shape.KvHeads; h++)
            {
                var store = _stores[layer][h];
                store.Add(startPos + j, k.Slice(j * kvDim + h * hd, hd), v.Slice(j * kvDim + h * hd, hd));
                selectors?[h].OnAppend(store, store.Count - 1);
            }
        _length = Math.Max(_length, startPos + count);
    }

    /// <summary>The prefill/decode boundary of one layer: press, then a boundary store's own work, then index.</summary>
    void Cross(int layer)
    {
        _crossed[layer] = true;
        var stores = _stores[layer];
        if (_o.Press != null) Press(layer, stores);
        for (int h = 0; h < stores.Length; h++)
            if (stores[h] is IBoundaryStore b) b.Cross(Boundary(layer, h));
        foreach (var s in stores) s.PromptCount = s.Count;
        if (_o.Selector != null && layer >= _o.DenseLayers)
        {
            var selectors = new IHeadSelector[stores.Length];
            for (int h = 0; h < stores.Length; h++)
            {
                selectors[h] = _o.Selector.CreateHead(layer, h);
                if (_o.Selector.QueryWindow > 0) selectors[h].OnBoundary(Boundary(layer, h));
            }
            // Heads index in parallel: A²ATS codes a 32K prompt's keys here, ~4096·d MACs a key and head.
            var build = new BuildWork(selectors, stores);
            if (_pool != null && stores.Length > 1) _pool.Run(build, stores.Length, grain: 1);
            else build.Execute(0, stores.Length);
            _selectors[layer] = selectors;
        }
        _window[layer] = null;
    }

    /// <summary>This head's group queries of the layer's window, oldest first.</summary>
    PressInput Boundary(int layer, int h)
    {
        int hd = _shape.HeadDim, g = _shape.GroupSize;
        int rows = _window[layer]?.Count ?? 0;
        var wq = new float[rows * g * hd];
        for (int r = 0; r < rows; r++) _window[layer]!.Row(r).Slice(h * g * hd, g * hd).CopyTo(wq.AsSpan(r * g * hd));
        return new PressInput(layer, h, _stores[layer][h], wq, rows, g);
    }

    /// <summary>Prefill queries kept per layer: the press's observation window, or what the selector asks for.</summary>
    int WindowRows => Math.Max(_o.Press != null ? _o.ObservationWindow : 0, _o.Selector?.QueryWindow ?? 0);

    void Press(int layer, IKvStore[] stores)
    {
        var scores = new float[stores.Length][];
        for (int h = 0; h < stores.Length; h++)
        {
            scores[h] = new float[stores[h].Count];
            _o.Press!.Score(Boundary(layer, h), scores[h]);
        }
        int n = stores[0].Count;
        int budget = _o.PressBudget.Resolve(n, n);
        var keep = _o.AdaptiveHeadBudgets ? AdaptiveKeep(scores, budget) : scores.Select(s => TopSlots(s, budget)).ToArray();
        int room = Math.Max(0, Capacity - _length);
        for (int h = 0; h < stores.Length; h++) stores[h].KeepOnly(keep[h], room);
    }

    static unsafe int[] TopSlots(float[] scores, int k)
    {
        var top = new int[Math.Min(k, scores.Length)];
        fixed (float* s = scores) fixed (int* t = top) TopK.Select(s, scores.Length, top.Length, t);
        Array.Sort(top);
        return top;
    }

    /// <summary>AdaKV: each head keeps its best ⌊B/5⌋, the rest of the layer's B·H go to the best remaining scores of any head.</summary>
    static int[][] AdaptiveKeep(float[][] scores, int budget)
    {
        int heads = scores.Length, floor = budget / 5;
        var keep = scores.Select(s => TopSlots(s, floor).ToList()).ToArray();
        var rest = new List<(float Score, int Head, int Slot)>();
        for (int h = 0; h < heads; h++)
        {
            var taken = keep[h].ToHashSet();
            for (int t = 0; t < scores[h].Length; t++) if (!taken.Contains(t)) rest.Add((scores[h][t], h, t));
        }
        foreach (var (_, h, t) in rest.OrderByDescending(r => r.Score).ThenBy(r => r.Head).ThenBy(r => r.Slot).Take(budget * heads - floor * heads))
            keep[h].Add(t);
        return keep.Select(k => k.Order().ToArray()).ToArray();
    }

    public void Attend(int layer, ForwardStage stage, int startPos, int count, ReadOnlySpan<float> q, Span<float> output)
    {
        if (_shape.WindowLimits(layer))
        {
            _slidingStore!.Attend(layer, stage, startPos, count, q, output);
            return;
        }
        if (!_crossed[layer] && WindowRows > 0)
            (_window[layer] ??= new RecentQueries(WindowRows, _shape.Heads * _shape.HeadDim)).Add(q, count);
        _work.Run(layer, startPos, count, q, output);
    }

    /// <summary>
    /// Becomes a copy of <paramref name="source"/> (rows, boundary state and selector indexes): the A²ATS reference
    /// benchmark's "one prompt expanded to batch size B", without coding B prompts' keys B times. The source must
    /// have this cache's shape and method; rows are copied through the stores, so a tier writes its own file.
    /// </summary>
    public void CopyFrom(SparseKvCache source)
    {
        if (source._shape.Layers != _shape.Layers || source._shape.KvDim != _shape.KvDim || source.Capacity > Capacity ||
            source._o.Selector?.GetType() != _o.Selector?.GetType() || source._o.Press?.GetType() != _o.Press?.GetType())
            throw new ArgumentException("the source cache has another shape or method");
        Truncate(0);
        var key = new float[_shape.HeadDim];
        var value = new float[_shape.HeadDim];
        for (int l = 0; l < _shape.Layers; l++)
        {
            if (_shape.WindowLimits(l)) continue;
            for (int h = 0; h < _shape.KvHeads; h++)
            {
                IKvStore from = source._stores[l][h], to = _stores[l][h];
                if (to is ICopyableStore copyable) { copyable.CopyFrom(from); continue; }
                for (int t = 0; t < from.Count; t++)
                {
                    from.ReadKeys(t, 1, key);
                    from.ReadValues(t, 1, value);
                    to.Add(from.PositionOf(t), key, value);
                }
                to.PromptCount = from.PromptCount;
            }
            _crossed[l] = source._crossed[l];
            if (source._selectors[l] is { } theirs)
            {
                var mine = new IHeadSelector[theirs.Length];
                for (int h = 0; h < mine.Length; h++)
                {
                    mine[h] = _o.Selector!.CreateHead(l, h);
                    if (mine[h] is ICopyableIndex copy) copy.CopyFrom(theirs[h]);
                    else mine[h].Build(_stores[l][h]);
                }
                _selectors[l] = mine;
            }
        }
        if (_slidingStore != null) _slidingStore.CopyPrefixFrom(source._slidingStore!, source._length);
        _length = source._length;
    }

    public void Truncate(int length)
    {
        if (length >= _length) return;
        if (_slidingStore != null && !_slidingStore.RingsHold(length)) length = 0;   // a ring moved past the window: start over
        for (int l = 0; l < _shape.Layers; l++)
        {
            if (_shape.WindowLimits(l)) continue;
            if (length == 0) { _crossed[l] = false; _selectors[l] = null; }
            _window[l] = null;      // the remembered queries may belong to forgotten positions
            for (int h = 0; h < _stores[l].Length; h++)
            {
                var s = _stores[l][h];
                if (_crossed[l] && length > 0 && s.CountUpTo(length - 1) < s.PromptCount)
                    throw new NotSupportedException("cannot truncate into a pressed or compressed prompt; start a new cache (Truncate(0))");
                s.Truncate(length == 0 ? 0 : s.CountUpTo(length - 1));
                if (length == 0) s.PromptCount = -1;
                _selectors[l]?[h].Build(s);   // an index over forgotten rows would only loosen (Quest's page bounds)
            }
        }
        _slidingStore?.Truncate(length);   // after the global layers, which may refuse (a pressed prompt)
        _length = length;
    }

    sealed class BuildWork(IHeadSelector[] selectors, IKvStore[] stores) : IRangeWork
    {
        public void Execute(int start, int end)
        {
            for (int h = start; h < end; h++) selectors[h].Build(stores[h]);
        }
    }

    /// <summary>One (row, KV head) per item: choose the rows, then exact attention for the group's query heads.</summary>
    sealed unsafe class Work(SparseKvCache c) : PerKvHeadWork(c._shape, c._pool)
    {
        [ThreadStatic] static GroupAttention? t_attention;
        [ThreadStatic] static List<int>? t_slots;

        protected override void AttendHead(int row, int kvHead)
        {
            var s = c._shape;
            int hd = s.HeadDim, qDim = s.Heads * hd, pos = Start + row, g = s.GroupSize;
            var store = c._stores[Layer][kvHead];
            var attention = t_attention ??= new GroupAttention();
            float* q = Q + row * qDim + kvHead * g * hd;
            float* output = Out + row * qDim + kvHead * g * hd;
            int visible = store.CountUpTo(pos);
            var selector = c._selectors[Layer]?[kvHead];
            if (selector == null)
            {
                attention.Run(store, 0, visible, null, q, g, output, s.AttnSoftcap);
                return;
            }
            // Always attended: the sinks (the first positions), and a tail — the rows appended since the boundary (the
            // most recent RecentCap) and the local window (positions less than LocalWindow behind this one). The
            // selector chooses among the rows between.
            int forcedStart = Math.Max(store.PromptCount, visible - c._o.RecentCap);
            if (c._o.LocalWindow > 0) forcedStart = Math.Min(forcedStart, store.CountUpTo(pos - c._o.LocalWindow));
            int candidates = Math.Min(forcedStart, visible);
            int sinks = Math.Min(c._o.Sinks > 0 ? store.CountUpTo(c._o.Sinks - 1) : 0, candidates);
            var slots = t_slots ??= [];
            slots.Clear();
            for (int t = 0; t < sinks; t++) slots.Add(t);
            // Pinned rows among the candidates (Self-Indexing's dense set) are attended unscored and not counted.
            int pinned = 0;
            foreach (int t in selector.Pinned)
                if (t >= sinks && t < candidates) { slots.Add(t); pinned++; }
            int k = c._o.Budget.Resolve(pos + 1, candidates - sinks - pinned);
            // Selection ignores the soft-cap: it is monotonic, so the top-K by raw score is the top-K by capped score.
            int picked = k > 0 ? selector.Select(store, new ReadOnlySpan<float>(q, g * hd), sinks, candidates, k, pos, slots) : 0;
            for (int t = forcedStart; t < visible; t++) slots.Add(t);
            attention.Run(store, 0, 0, slots, q, g, output, s.AttnSoftcap);
            if (c._o.Trace && row == Rows - 1)   // several rows of one call race for the slot: the last row's record is kept
            {
                var pinnedSlots = slots.Skip(sinks).Take(pinned).ToArray();
                c._trace[Layer, kvHead] = new SelectionRecord(pos,
                    Enumerable.Range(sinks, candidates - sinks).Except(pinnedSlots).Select(store.PositionOf).ToArray(),
                    slots.Skip(sinks + pinned).Take(picked).Select(store.PositionOf).ToArray(),
                    Enumerable.Range(0, sinks).Concat(pinnedSlots).Concat(Enumerable.Range(forcedStart, Math.Max(0, visible - forcedStart))).Select(store.PositionOf).ToArray());
            }
        }
    }
}
