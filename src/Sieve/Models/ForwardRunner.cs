using System.Numerics.Tensors;
using Sieve.Cache;
using Sieve.Kernels;
using Sieve.Models.Operators;
using Sieve.Threading;

namespace Sieve.Models;

/// <summary>
/// Runs the Llama-family forward pass over a batch of sequences: one code path for prefill chunks (n rows) and
/// decode tokens (one row each), any mix of them in one step. The matrix products run over the rows of every
/// segment at once, so each weight is streamed from memory once per step however many sequences it carries;
/// RoPE, attention and the KV cache work per segment, through that sequence's own <see cref="IKvCache"/>.
/// </summary>
/// <remarks>
/// A runner owns scratch for <see cref="MaxTokens"/> rows and the matmul's prepared activations, so one runner
/// serves one thread at a time; the <see cref="Transformer"/> it runs is shared. Methods change the pass only
/// through its seams: the <see cref="ForwardOptions"/> of each segment (layer plan, gates, operators, hooks) and the
/// cache. Projections and FFNs run through each segment's <see cref="IOperatorSet"/> (the model's dense one unless a
/// method brings its own); segments that share a set share each call.
/// </remarks>
public sealed class ForwardRunner : IRowHooks
{
    public Transformer Model { get; }
    public ModelConfig Config => Model.Config;
    public ModelWeights Weights => Model.Weights;
    public WorkerPool Pool { get; }

    /// <summary>Rows one step may carry, all segments together; bounds scratch memory (rows × ffn floats).</summary>
    public int MaxTokens { get; }

    readonly OperatorContext _ops;
    readonly MatMul _mm;
    readonly BlockSpec[] _blocks;
    readonly float[] _queryFix;   // per layer: the spec's softmax scale over the caches' 1/√headDim (1 but for Gemma 27B)

    // Scratch, [MaxTokens × width] each, allocated once. x is indexed by batch row; the others by packed row,
    // which lists only the segments a layer runs for (all of them unless plans differ between segments).
    readonly float[] _x;      // residual stream        [n, dim]
    readonly float[] _xb;     // normed input / output  [n, dim]
    readonly float[] _x2;     // FFN output             [n, dim]
    readonly float[] _q;      //                        [n, qDim]
    readonly float[] _k;      //                        [n, kvDim]
    readonly float[] _v;      //                        [n, kvDim]
    readonly float[] _att;    // attention output       [n, qDim]
    float[] _logits;          // [logit rows, vocab]
    int[] _logitOffsets = [], _logitCounts = [];
    int _lastSegments;

    public ForwardRunner(Transformer model, WorkerPool pool, int maxTokens = 512)
    {
        Model = model; Pool = pool;
        MaxTokens = Math.Max(1, maxTokens);
        var c = model.Config;
        int n = MaxTokens;
        _ops = new OperatorContext(pool, n, c, this);
        _mm = _ops.MatMul;
        _blocks = [.. model.Blocks];
        // Caches scale scores by 1/√headDim; a model that wants another scale gets its queries pre-scaled, as
        // llama.cpp does for Gemma (the product q·k is linear in q).
        _queryFix = _blocks.Select(b => b.QueryScale * MathF.Sqrt(c.HeadDim) is var f && MathF.Abs(f - 1) > 1e-6f ? f : 1f).ToArray();
        _x = new float[n * c.Dim];
        _xb = new float[n * c.Dim];
        _x2 = new float[n * c.Dim];
        _q = new float[n * c.QDim];
        _k = new float[n * c.KvDim];
        _v = new float[n * c.KvDim];
        _att = new float[n * c.QDim];
        _logits = new float[c.VocabSize];
    }

    public DenseKvCache CreateDenseCache(int capacity) => Model.CreateDenseCache(capacity, Pool);

    public IKvCache CreateCache(KvCacheSpec spec, int capacity) => Model.CreateCache(spec, capacity, Pool);

    // ---- one batched step ----

    /// <summary>
    /// Runs one step over <paramref name="segments"/> (at most <see cref="MaxTokens"/> rows together; one segment per
    /// cache). Read each segment's logits with <see cref="Logits"/> until the next call.
    /// </summary>
    public void Run(ReadOnlySpan<BatchSegment> segments)
    {
        int rows = 0;
        foreach (var s in segments) rows += Math.Max(0, s.LogitRows);
        int vocab = Config.VocabSize;
        if (_logits.Length < (long)rows * vocab) _logits = new float[(long)rows * vocab <= Array.MaxLength ? rows * vocab : throw new ArgumentException($"{rows} logit rows do not fit one buffer")];
        if (_logitOffsets.Length < segments.Length) { _logitOffsets = new int[segments.Length]; _logitCounts = new int[segments.Length]; }
        _lastSegments = 0;   // nothing readable if the step throws
        Execute(segments, 0, default, _logits.AsSpan(0, rows * vocab));
        int at = 0;
        for (int i = 0; i < segments.Length; i++)
        {
            _logitOffsets[i] = at;
            _logitCounts[i] = segments[i].LogitRows * vocab;
            at += _logitCounts[i];
        }
        _lastSegments = segments.Length;
    }

    /// <summary>Segment <paramref name="segment"/>'s logits from the last <see cref="Run"/>: its logit rows × vocab.</summary>
    public ReadOnlySpan<float> Logits(int segment)
    {
        if ((uint)segment >= (uint)_lastSegments) throw new ArgumentOutOfRangeException(nameof(segment), $"segment {segment} is not one of the last step's {_lastSegments}");
        return _logits.AsSpan(_logitOffsets[segment], _logitCounts[segment]);
    }

    // ---- one sequence ----

    /// <summary>Runs the prompt from <paramref name="startPos"/>; returns logits of the last token.</summary>
    public ReadOnlySpan<float> Prefill(ReadOnlySpan<int> tokens, int startPos, IKvCache cache, ForwardOptions? options = null) =>
        Forward(tokens, startPos, cache, ForwardStage.Prefill, allLogits: false, options);

    /// <summary>Runs one token at <paramref name="pos"/>; returns its logits.</summary>
    public ReadOnlySpan<float> Decode(int token, int pos, IKvCache cache, ForwardOptions? options = null)
    {
        _one[0] = token;
        return Forward(_one, pos, cache, ForwardStage.Decode, allLogits: false, options);
    }

    readonly int[] _one = new int[1];

    /// <summary>Logits for every position of <paramref name="tokens"/> (perplexity, multiple-choice scoring).</summary>
    public ReadOnlySpan<float> PrefillAllLogits(ReadOnlySpan<int> tokens, int startPos, IKvCache cache, ForwardOptions? options = null) =>
        Forward(tokens, startPos, cache, ForwardStage.Prefill, allLogits: true, options);

    // ---- a prompt under a plan (POP's boundary) ----

    /// <summary>
    /// Ingests a prompt under <paramref name="options"/>' plan: the one entry point generation, chat, perplexity and
    /// the long-context tasks share (the scheduler splits its chunks the same way, through
    /// <see cref="ForwardOptions.PrefillRows"/>). The first PrefillRows(n) tokens run as prefill, where a POP plan's
    /// KvOnly layers only project K/V; when the plan prunes prefill and the boundary is Full, the last token then runs
    /// through every layer as the first decode-stage row, at its own position, attending to everything cached.
    /// Returns the last token's logits, which give the first generated token.
    /// </summary>
    public ReadOnlySpan<float> Ingest(ReadOnlySpan<int> prompt, int startPos, IKvCache cache, ForwardOptions? options = null)
    {
        if (prompt.IsEmpty) throw new ArgumentException("no tokens to run");
        int p = (options ?? ForwardOptions.Default).PrefillRows(prompt.Length);
        if (p == prompt.Length) return Prefill(prompt, startPos, cache, options);
        if (p > 0) Forward(prompt[..p], startPos, cache, ForwardStage.Prefill, LogitRows.None, options);
        return Decode(prompt[p], startPos + p, cache, options);
    }

    /// <summary>
    /// Scores <paramref name="continuation"/> after <paramref name="context"/> (multiple-choice log-likelihoods): the
    /// context is ingested as a prompt (<see cref="Ingest"/>) and the continuation teacher-forced as decode-stage rows,
    /// at full depth, since POP predicts every generated token with the full model. Returns continuation.Length
    /// vocab-wide rows; row i predicts continuation[i] (row 0 comes from the context's last token). A plan that runs the
    /// same layers in both stages scores the whole text as one prefill, as before POP.
    /// </summary>
    public float[] IngestAndScore(ReadOnlySpan<int> context, ReadOnlySpan<int> continuation, int startPos, IKvCache cache, ForwardOptions? options = null)
    {
        if (context.IsEmpty) throw new ArgumentException("no context tokens to predict the continuation from");
        if (continuation.IsEmpty) return [];
        var o = options ?? ForwardOptions.Default;
        int vocab = Config.VocabSize;
        var input = new int[context.Length + continuation.Length - 1];
        context.CopyTo(input);
        continuation[..^1].CopyTo(input.AsSpan(context.Length));
        if (o.Plan is not { PrunesPrefill: true })
            return Forward(input, startPos, cache, ForwardStage.Prefill, LogitRows.All, o)[((context.Length - 1) * vocab)..].ToArray();
        var rows = new float[continuation.Length * vocab];
        int p = o.PrefillRows(context.Length);
        if (p == context.Length)
        {
            Forward(context, startPos, cache, ForwardStage.Prefill, LogitRows.Last, o).CopyTo(rows);
            if (continuation.Length > 1) Forward(input.AsSpan(p), startPos + p, cache, ForwardStage.Decode, LogitRows.All, o).CopyTo(rows.AsSpan(vocab));
        }
        else
        {
            if (p > 0) Forward(context[..p], startPos, cache, ForwardStage.Prefill, LogitRows.None, o);
            Forward(input.AsSpan(p), startPos + p, cache, ForwardStage.Decode, LogitRows.All, o).CopyTo(rows);
        }
        return rows;
    }

    /// <summary>One sequence through the model in chunks of <see cref="MaxTokens"/>, with the logits of <paramref name="want"/> rows.</summary>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, int startPos, IKvCache cache, ForwardStage stage, LogitRows want, ForwardOptions? options = null) =>
        ForwardFrom(0, tokens, default, startPos, cache, stage, want, options);

    /// <summary>
    /// One sequence through the model, in consecutive chunks of <see cref="MaxTokens"/>. Returns vocab-wide logits for
    /// the last token, or for every token when <paramref name="allLogits"/>.
    /// </summary>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, int startPos, IKvCache cache, ForwardStage stage, bool allLogits, ForwardOptions? options = null) =>
        ForwardFrom(0, tokens, default, startPos, cache, stage, allLogits ? LogitRows.All : LogitRows.Last, options);

    /// <summary>
    /// Resumes a forward pass at <paramref name="layer"/> with the residual stream entering it given
    /// (<paramref name="residual"/>: one row of Dim per position from <paramref name="startPos"/>): the layers before
    /// it do not run and the cache gets nothing for them. Pruning searches use it to advance a stored stream block by
    /// block; a hook reads the stream where they need it.
    /// </summary>
    public ReadOnlySpan<float> ResumeFromLayer(int layer, ReadOnlySpan<float> residual, int startPos, IKvCache cache, ForwardStage stage, LogitRows logits, ForwardOptions? options = null)
    {
        int dim = Config.Dim;
        if ((uint)layer >= (uint)Config.LayerCount) throw new ArgumentOutOfRangeException(nameof(layer), $"layer {layer} is outside 0..{Config.LayerCount - 1}");
        if (residual.IsEmpty || residual.Length % dim != 0) throw new ArgumentException($"the residual stream must be whole rows of {dim} values (got {residual.Length})");
        return ForwardFrom(layer, new int[residual.Length / dim], residual, startPos, cache, stage, logits, options);
    }

    /// <summary>Which rows of a one-sequence call get logits.</summary>
    public enum LogitRows { None, Last, All }

    ReadOnlySpan<float> ForwardFrom(int layer, ReadOnlySpan<int> tokens, ReadOnlySpan<float> residual, int startPos, IKvCache cache, ForwardStage stage, LogitRows want, ForwardOptions? options)
    {
        if (tokens.IsEmpty) throw new ArgumentException("no tokens to run");
        int vocab = Config.VocabSize, dim = Config.Dim;
        int rows = want switch { LogitRows.All => tokens.Length, LogitRows.Last => 1, _ => 0 };
        if (_logits.Length < (long)rows * vocab) _logits = new float[rows * vocab];
        var tokenArray = tokens.ToArray();
        Span<BatchSegment> one = new BatchSegment[1];
        for (int done = 0; done < tokens.Length; done += MaxTokens)
        {
            int n = Math.Min(MaxTokens, tokens.Length - done);
            bool last = done + n == tokens.Length;
            int from = want == LogitRows.All ? 0 : want == LogitRows.Last && last ? n - 1 : n;
            one[0] = new BatchSegment(cache, tokenArray.AsMemory(done, n), startPos + done, stage, from, options);
            var chunkLogits = want == LogitRows.All ? _logits.AsSpan(done * vocab, n * vocab) : from < n ? _logits.AsSpan(0, vocab) : default;
            Execute(one, layer, residual.IsEmpty ? default : residual.Slice(done * dim, n * dim), chunkLogits);
        }
        return _logits.AsSpan(0, rows * vocab);
    }

    // ---- the pass ----

    /// <summary>Where one segment's rows sit in this step: batch rows from Row; packed rows of the layer at Kv/Full.</summary>
    struct Placement
    {
        public int Row, Count, Kv, Full;
        public LayerMode Mode;
    }

    Placement[] _place = [];

    void Execute(ReadOnlySpan<BatchSegment> segs, int firstLayer, ReadOnlySpan<float> residualIn, Span<float> logits)
    {
        var c = Config;
        var w = Model.Weights;
        int dim = c.Dim, qDim = c.QDim, kvDim = c.KvDim;
        int n = Validate(segs);
        if (_place.Length < segs.Length) _place = new Placement[segs.Length];
        var place = _place.AsSpan(0, segs.Length);
        var x = _x.AsSpan(0, n * dim);
        if (_segs.Length < segs.Length) _segs = new BatchSegment[segs.Length];
        segs.CopyTo(_segs);

        for (int s = 0, row = 0; s < segs.Length; row += segs[s].Count, s++)
        {
            place[s].Row = row;
            place[s].Count = segs[s].Count;
            if (!residualIn.IsEmpty) continue;
            var tokens = segs[s].Tokens.Span;
            for (int j = 0; j < tokens.Length; j++)
            {
                var xj = x.Slice((row + j) * dim, dim);
                Dequantize.Row(w.TokenEmbedding.Type, w.TokenEmbedding.Row(tokens[j]), xj);
                if (c.EmbeddingScale != 1f) TensorPrimitives.Multiply(xj, c.EmbeddingScale, xj);   // Gemma: × √dim
            }
        }
        if (!residualIn.IsEmpty) residualIn.CopyTo(x);

        for (int l = firstLayer; l < c.LayerCount; l++)
        {
            // Which segments run this layer, and their packed rows: a KvOnly or skipped segment drops out of the
            // products it does not need, so mixed plans cost no more than their sum.
            int nKv = 0, nFull = 0;
            for (int s = 0; s < segs.Length; s++)
            {
                ref var p = ref place[s];
                p.Mode = (segs[s].Options ?? ForwardOptions.Default).Mode(segs[s].Stage, l);
                p.Kv = nKv; p.Full = nFull;
                if (p.Mode != LayerMode.Skip) nKv += p.Count;
                if (p.Mode == LayerMode.Full) nFull += p.Count;
            }
            if (nKv == 0) continue;
            var lw = w.Layers[l];
            var spec = _blocks[l];
            var rope = Model.Ropes[l];
            var xb = _xb.AsSpan(0, nKv * dim);
            var q = _q.AsSpan(0, nKv * qDim);
            var k = _k.AsSpan(0, nKv * kvDim);
            var v = _v.AsSpan(0, nKv * kvDim);
            var att = _att.AsSpan(0, nKv * qDim);

            // ---- attention ----
            for (int s = 0; s < segs.Length; s++)
            {
                ref var p = ref place[s];
                if (p.Mode == LayerMode.Skip) continue;
                Emit(segs[s], ActivationSite.LayerInput, l, dim, x.Slice(p.Row * dim, p.Count * dim));
                for (int j = 0; j < p.Count; j++)
                    RmsNorm.Apply(x.Slice((p.Row + j) * dim, dim), lw.AttnNorm, c.NormEps, xb.Slice((p.Kv + j) * dim, dim));
                Emit(segs[s], ActivationSite.AttnNorm, l, dim, xb.Slice(p.Kv * dim, p.Count * dim));
            }

            _ops.Layer = l;
            for (int g = 0, groups = Group(segs, place, full: false); g < groups; g++)
            {
                var (ops, at, m) = Call(g, l);
                if (_groups[g].AnyFull) ops.Q.Apply(_ops, xb.Slice(at * dim, m * dim), m, q.Slice(at * qDim, m * qDim));
                ops.K.Apply(_ops, xb.Slice(at * dim, m * dim), m, k.Slice(at * kvDim, m * kvDim));
                ops.V.Apply(_ops, xb.Slice(at * dim, m * dim), m, v.Slice(at * kvDim, m * kvDim));
            }
            for (int s = 0; s < segs.Length; s++)
            {
                ref var p = ref place[s];
                if (p.Mode == LayerMode.Skip) continue;
                for (int j = 0; j < p.Count; j++)
                {
                    int pos = segs[s].StartPos + j, r = p.Kv + j;
                    var kj = k.Slice(r * kvDim, kvDim);
                    if (spec.QkvBias) TensorPrimitives.Add(kj, lw.Bk!, kj);
                    if (spec.QkNorm) NormHeads(kj, c.KvHeadCount, lw.KNorm!);
                    rope.Apply(kj, c.KvHeadCount, pos);
                    if (spec.QkvBias) TensorPrimitives.Add(v.Slice(r * kvDim, kvDim), lw.Bv!, v.Slice(r * kvDim, kvDim));
                    if (p.Mode != LayerMode.Full) continue;
                    var qj = q.Slice(r * qDim, qDim);
                    if (spec.QkvBias) TensorPrimitives.Add(qj, lw.Bq!, qj);
                    if (spec.QkNorm) NormHeads(qj, c.HeadCount, lw.QNorm!);
                    rope.Apply(qj, c.HeadCount, pos);
                    if (_queryFix[l] != 1f) TensorPrimitives.Multiply(qj, _queryFix[l], qj);
                }
                var ks = k.Slice(p.Kv * kvDim, p.Count * kvDim);
                var vs = v.Slice(p.Kv * kvDim, p.Count * kvDim);
                Emit(segs[s], ActivationSite.K, l, kvDim, ks);
                Emit(segs[s], ActivationSite.V, l, kvDim, vs);
                segs[s].Cache.Append(l, segs[s].Stage, segs[s].StartPos, p.Count, ks, vs);
                if (p.Mode == LayerMode.KvOnly) continue;   // POP: the residual passes this layer unchanged
                var qs = q.Slice(p.Kv * qDim, p.Count * qDim);
                Emit(segs[s], ActivationSite.Q, l, qDim, qs);
                // Attention writes to the segment's rows among the Full ones, so Wo multiplies only rows that ran.
                var outRows = att.Slice(p.Full * qDim, p.Count * qDim);
                segs[s].Cache.Attend(l, segs[s].Stage, segs[s].StartPos, p.Count, qs, outRows);
                Emit(segs[s], ActivationSite.AttnOut, l, qDim, outRows);
            }
            if (nFull == 0) continue;

            var proj = _xb.AsSpan(0, nFull * dim);
            int fullGroups = Group(segs, place, full: true);
            for (int g = 0; g < fullGroups; g++)
            {
                var (ops, at, m) = Call(g, l);
                ops.O.Apply(_ops, att.Slice(at * qDim, m * qDim), m, proj.Slice(at * dim, m * dim));
            }
            for (int s = 0; s < segs.Length; s++)
            {
                ref var p = ref place[s];
                if (p.Mode != LayerMode.Full) continue;
                var xs = x.Slice(p.Row * dim, p.Count * dim);
                if (spec.SandwichNorms) NormRows(proj.Slice(p.Full * dim, p.Count * dim), lw.PostAttnNorm!);
                AddBranch(xs, proj.Slice(p.Full * dim, p.Count * dim), segs[s], l);
            }

            // ---- feed-forward (SwiGLU, or Gemma's GeGLU) ----
            var ffnOut = _x2.AsSpan(0, nFull * dim);
            for (int s = 0; s < segs.Length; s++)
            {
                ref var p = ref place[s];
                if (p.Mode != LayerMode.Full) continue;
                for (int j = 0; j < p.Count; j++)
                    RmsNorm.Apply(x.Slice((p.Row + j) * dim, dim), lw.FfnNorm, c.NormEps, proj.Slice((p.Full + j) * dim, dim));
                Emit(segs[s], ActivationSite.FfnIn, l, dim, proj.Slice(p.Full * dim, p.Count * dim));
            }
            for (int g = 0; g < fullGroups; g++)
            {
                var (ops, at, m) = Call(g, l);
                ops.FeedForward.Apply(_ops, proj.Slice(at * dim, m * dim), m, ffnOut.Slice(at * dim, m * dim));
            }
            for (int s = 0; s < segs.Length; s++)
            {
                ref var p = ref place[s];
                if (p.Mode != LayerMode.Full) continue;
                var xs = x.Slice(p.Row * dim, p.Count * dim);
                if (spec.SandwichNorms) NormRows(ffnOut.Slice(p.Full * dim, p.Count * dim), lw.PostFfnNorm!);
                AddBranch(xs, ffnOut.Slice(p.Full * dim, p.Count * dim), segs[s], l);
                Emit(segs[s], ActivationSite.Residual, l, dim, xs);
            }
        }

        int logitRows = 0;
        for (int s = 0; s < segs.Length; s++)
            for (int j = segs[s].LogitsFrom; j < segs[s].Count; j++)
                RmsNorm.Apply(x.Slice((place[s].Row + j) * dim, dim), w.OutputNorm, c.NormEps, _xb.AsSpan(logitRows++ * dim, dim));
        if (logitRows == 0) return;
        _mm.Apply(w.Output, _xb.AsSpan(0, logitRows * dim), logitRows, logits);
        if (c.FinalLogitSoftcap > 0) Softcap.Apply(logits[..(logitRows * c.VocabSize)], c.FinalLogitSoftcap);   // Gemma 2
    }

    // ---- operator calls: runs of segments that share an operator set ----

    /// <summary>One operator call: segments [First, End) whose rows (packed from Row, Count of them) share Set.</summary>
    record struct OperatorGroup(IOperatorSet Set, int First, int End, int Row, int Count, bool Full, bool AnyFull);

    OperatorGroup[] _groups = [];
    BatchSegment[] _segs = [];
    int _call = -1;   // the group whose hooks an operator sees

    IOperatorSet SetOf(in BatchSegment s) => s.Options?.Operators ?? Model.Operators;

    /// <summary>
    /// Splits the segments that run this layer (all but Skip; only Full when <paramref name="full"/>) into runs of
    /// consecutive segments with one operator set: one call in the usual case where every segment shares it.
    /// </summary>
    int Group(ReadOnlySpan<BatchSegment> segs, ReadOnlySpan<Placement> place, bool full)
    {
        if (_groups.Length < segs.Length) _groups = new OperatorGroup[segs.Length];
        int count = 0;
        for (int s = 0; s < segs.Length; s++)
        {
            var mode = place[s].Mode;
            if (mode == LayerMode.Skip || full && mode != LayerMode.Full) continue;
            var set = SetOf(segs[s]);
            int row = full ? place[s].Full : place[s].Kv;
            if (count > 0 && ReferenceEquals(_groups[count - 1].Set, set))
            {
                ref var g = ref _groups[count - 1];
                g.End = s + 1;
                g.Count += place[s].Count;
                g.AnyFull |= mode == LayerMode.Full;
            }
            else _groups[count++] = new OperatorGroup(set, s, s + 1, row, place[s].Count, full, mode == LayerMode.Full);
        }
        return count;
    }

    /// <summary>Makes group <paramref name="g"/> the one whose hooks operators see; returns its layer's operators and rows.</summary>
    (LayerOperators Ops, int Row, int Count) Call(int g, int layer)
    {
        _call = g;
        ref var grp = ref _groups[g];
        return (grp.Set.For(layer), grp.Row, grp.Count);
    }

    bool IRowHooks.Wants(ActivationSite site, int layer)
    {
        if (_call < 0) return false;
        var g = _groups[_call];
        for (int s = g.First; s < g.End; s++)
            if (InCall(s, g) && _segs[s].Options?.Hooks is { Count: > 0 } hooks)
                foreach (var h in hooks) if (h.Wants(site, layer)) return true;
        return false;
    }

    void IRowHooks.Emit(ActivationSite site, int layer, int width, Span<float> rows)
    {
        if (_call < 0) return;
        var g = _groups[_call];
        for (int s = g.First; s < g.End; s++)
        {
            if (!InCall(s, g)) continue;
            ref var p = ref _place[s];
            int at = (g.Full ? p.Full : p.Kv) - g.Row;
            Emit(_segs[s], site, layer, width, rows.Slice(at * width, p.Count * width));
        }
    }

    bool InCall(int s, in OperatorGroup g) => _place[s].Mode == LayerMode.Full || !g.Full && _place[s].Mode == LayerMode.KvOnly;

    /// <summary>Checks every segment before anything runs (a bad one must not leave others' caches half-written); returns the rows.</summary>
    int Validate(ReadOnlySpan<BatchSegment> segs)
    {
        var c = Config;
        if (segs.IsEmpty) throw new ArgumentException("a forward step needs at least one segment");
        long rows = 0;
        for (int s = 0; s < segs.Length; s++)
        {
            var seg = segs[s];
            if (seg.Cache == null) throw new ArgumentException($"segment {s} has no KV cache");
            if (seg.Count == 0) throw new ArgumentException($"segment {s} has no tokens to run");
            if (seg.StartPos < 0 || (long)seg.StartPos + seg.Count > seg.Cache.Capacity)
                throw new ArgumentOutOfRangeException(nameof(segs), $"positions {seg.StartPos}..{(long)seg.StartPos + seg.Count - 1} exceed the KV cache capacity {seg.Cache.Capacity}");
            if ((uint)seg.LogitsFrom > (uint)seg.Count) throw new ArgumentOutOfRangeException(nameof(segs), $"segment {s}: logits from row {seg.LogitsFrom} of {seg.Count}");
            if (seg.Options?.Plan is { } plan && plan.LayerCount != c.LayerCount)
                throw new ArgumentException($"segment {s}: the layer plan has {plan.LayerCount} layers, the model {c.LayerCount}");
            if (seg.Options?.Gates is { } gates && gates.LayerCount != c.LayerCount)
                throw new ArgumentException($"segment {s}: the gates cover {gates.LayerCount} layers, the model {c.LayerCount}");
            foreach (int t in seg.Tokens.Span)
                if ((uint)t >= (uint)c.VocabSize) throw new ArgumentOutOfRangeException(nameof(segs), $"token id {t} is outside the vocabulary (0..{c.VocabSize - 1})");
            for (int o = 0; o < s; o++)
                if (ReferenceEquals(segs[o].Cache, seg.Cache)) throw new ArgumentException($"segments {o} and {s} share one KV cache; a step carries each sequence once");
            rows += seg.Count;
        }
        if (rows > MaxTokens) throw new ArgumentException($"a step of {rows} rows exceeds this runner's {MaxTokens} (split the prefill into chunks)");
        return (int)rows;
    }

    /// <summary>x += g·branch, with g the segment's virtual gate for this layer and stage (POP); 1 unless set.</summary>
    static void AddBranch(Span<float> x, ReadOnlySpan<float> branch, in BatchSegment seg, int layer)
    {
        float g = seg.Options?.Gate(seg.Stage, layer) ?? 1f;
        if (g == 1f) TensorPrimitives.Add(x, branch, x);
        else TensorPrimitives.MultiplyAdd(branch, g, x, x);
    }

    /// <summary>Gemma's post-attention and post-FFN norms, row by row, in place.</summary>
    void NormRows(Span<float> rows, float[] weight)
    {
        int dim = Config.Dim;
        for (int r = 0; r < rows.Length; r += dim) RmsNorm.Apply(rows.Slice(r, dim), weight, Config.NormEps, rows.Slice(r, dim));
    }

    /// <summary>Qwen3's and Gemma 3's per-head RMSNorm of Q and K.</summary>
    void NormHeads(Span<float> x, int heads, float[] weight)
    {
        int hd = Config.HeadDim;
        for (int h = 0; h < heads; h++) RmsNorm.Apply(x.Slice(h * hd, hd), weight, Config.NormEps, x.Slice(h * hd, hd));
    }

    static void Emit(in BatchSegment seg, ActivationSite site, int layer, int width, Span<float> values)
    {
        var hooks = seg.Options?.Hooks;
        if (hooks == null) return;
        for (int i = 0; i < hooks.Count; i++)
            if (hooks[i].Wants(site, layer)) hooks[i].OnActivation(site, layer, seg.Stage, seg.StartPos, values.Length / width, width, values);
    }
}
