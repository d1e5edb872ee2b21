using System.Numerics.Tensors;
using Sieve.Models;
using Sieve.Threading;

namespace Sieve.Sparsity;

/// <summary>What to calibrate: the methods (which decide the statistics gathered) and one or more targets.</summary>
/// <param name="Methods">Every method the result must serve (a sweep asks for all four in one run).</param>
/// <param name="Targets">Target sparsities, each one value per layer in [0, 1).</param>
/// <param name="L2">CHESS's original (notebook) statistic: m_i = E[up_i²], importance act² · m, θ_i = √(τ / m_i);
/// false: the refactor's m_i = E|up_i|, importance |act| · m, θ_i = τ / m_i.</param>
public sealed record CalibrationPlan(IReadOnlyList<SparsityMethod> Methods, IReadOnlyList<float[]> Targets, bool L2 = false)
{
    public bool AttnInput => Methods.Any(m => m is SparsityMethod.ChessPlus or SparsityMethod.Teal);
    public bool AttnOutput => AttnInput;
    public bool CatsGate => Methods.Contains(SparsityMethod.Cats);
    public bool Channels => Methods.Any(m => m is SparsityMethod.Chess or SparsityMethod.ChessPlus);
    public bool FfnInputs => Methods.Contains(SparsityMethod.Teal);
}

/// <summary>
/// The per-layer statistics of one calibration, in double precision, averaged over documents: for each target t,
/// the kth(|x|, s) of each site's input (<see cref="Site"/>) and CHESS's importance threshold τ; per layer, the
/// up-projection statistic m_i (E|up_i|, or E[up_i²] with L2). Thresholds for any of the plan's methods and targets
/// follow from them.
/// </summary>
public sealed class CalibrationStatistics
{
    public required CalibrationPlan Plan { get; init; }
    public required int LayerCount { get; init; }
    public required int Dim { get; init; }
    public required int QDim { get; init; }
    public required int FfnDim { get; init; }
    public required int Documents { get; init; }
    public required long Tokens { get; init; }

    /// <summary>[target][layer][site]: the mean over documents of kth(|site input|, s); NaN where not gathered.</summary>
    public required double[][][] Site { get; init; }

    /// <summary>[target][layer]: τ, the mean over documents of kth(importance, s); NaN where not gathered.</summary>
    public required double[][] Tau { get; init; }

    /// <summary>[layer][channel]: the mean over documents of each document's E|up_i| (E[up_i²] with L2); null where not gathered.</summary>
    public required double[]?[] UpMean { get; init; }

    /// <summary>
    /// CHESS's per-channel threshold θ_i = τ / m_i (√(τ / m_i) with L2), the gate value at which |act_i|·m_i reaches
    /// τ. A channel whose up projection was never non-zero (m_i = 0) contributes nothing whatever its gate: it gets
    /// float.MaxValue, so it is always dropped (a huge finite number, as the file holds no ∞). τ = 0 (a target under
    /// one value per document) keeps every channel.
    /// </summary>
    public float[] GateChannels(int target, int layer)
    {
        double tau = Tau[target][layer];
        var m = UpMean[layer] ?? throw new InvalidOperationException("the calibration did not gather the up projection");
        var theta = new float[m.Length];
        for (int i = 0; i < m.Length; i++)
        {
            if (tau == 0) { theta[i] = 0; continue; }
            if (m[i] == 0) { theta[i] = float.MaxValue; continue; }
            double t = Plan.L2 ? Math.Sqrt(tau / m[i]) : tau / m[i];
            theta[i] = t >= float.MaxValue ? float.MaxValue : (float)t;
        }
        return theta;
    }

    /// <summary>The thresholds of <paramref name="method"/> at target <paramref name="target"/>, ready to save or apply.</summary>
    public ActivationThresholds Thresholds(SparsityMethod method, int target = 0, string? model = null, string? sha256 = null)
    {
        if (!Plan.Methods.Contains(method)) throw new ArgumentException($"the calibration was run for {string.Join(", ", Plan.Methods.Select(m => m.Name()))}, not {method.Name()}");
        var layers = new LayerThresholds[LayerCount];
        for (int l = 0; l < LayerCount; l++)
        {
            float S(SparseSite site) => (float)Site[target][l][(int)site];
            layers[l] = method switch
            {
                SparsityMethod.Cats => new LayerThresholds { Gate = S(SparseSite.Gate) },
                SparsityMethod.Chess => new LayerThresholds { GateChannels = GateChannels(target, l) },
                SparsityMethod.ChessPlus => new LayerThresholds { GateChannels = GateChannels(target, l), QInput = S(SparseSite.QInput), OInput = S(SparseSite.OInput) },
                SparsityMethod.Teal => new LayerThresholds
                {
                    QkvInput = S(SparseSite.QkvInput), OInput = S(SparseSite.OInput), FfnInput = S(SparseSite.FfnInput), DownInput = S(SparseSite.DownInput),
                },
                _ => throw new ArgumentOutOfRangeException(nameof(method)),
            };
        }
        var t = new ActivationThresholds
        {
            Method = method, Model = model, LayerCount = LayerCount, Dim = Dim, QDim = QDim, FfnDim = FfnDim,
            TargetSparsity = [.. Plan.Targets[target]], CalibrationSha256 = sha256, CalibrationTokens = (int)Math.Min(Tokens, int.MaxValue), Layers = layers,
        };
        t.Validate();
        return t;
    }
}

/// <summary>
/// CHESS's threshold calibration (pruning-sparsity §3.3), through the hook seam on the dense model. Pass 1, per
/// document and layer: kth(|x|, s) of the q_proj input (attention norm), of the o_proj input (attention output) and of
/// |act(gate)| (CATS); TEAL also takes the gate/up input and the down input; and m_i = mean over the document's tokens
/// of |up_i| (or up_i²). Each is averaged over documents; per-document quantiles averaged, not one global quantile,
/// as the refactor does. Pass 2 (CHESS, CHESS+): τ = kth(|act(gate)|·m, s) over every (token, channel) of a document,
/// averaged over documents; then θ_i = τ / m_i. TEAL's thresholds are the same magnitude quantiles of its four inputs
/// (TEAL reads them off a histogram, icdf(½ + s/2) of the signed value, which is the s-quantile of |x| for a symmetric
/// distribution). Statistics are summed in double; each document runs as one prefill call, so every hook call sees a
/// whole document's rows of one layer and no activations are stored between layers.
/// </summary>
public static class SparsityCalibrator
{
    /// <summary>
    /// Runs the plan over <paramref name="documents"/>. <paramref name="progress"/> gets the fraction done (0…1,
    /// after each document of each pass).
    /// </summary>
    public static CalibrationStatistics Measure(Transformer model, WorkerPool pool, CalibrationDocuments documents, CalibrationPlan plan, IProgress<double>? progress = null)
    {
        var c = model.Config;
        int L = c.LayerCount;
        if (plan.Methods.Count == 0) throw new ArgumentException("no method to calibrate");
        if (plan.Targets.Count == 0) throw new ArgumentException("no target sparsity");
        foreach (var target in plan.Targets)
        {
            if (target.Length != L) throw new ArgumentException($"--sparsity lists {target.Length} values; the model has {L} layers (give one value, or one per layer)");
            foreach (float s in target)
                if (!(s >= 0 && s < 1)) throw new ArgumentException($"--sparsity {s}: must be in [0, 1)");
        }
        if (documents.Documents.Count == 0) throw new ArgumentException($"{documents.Source}: no documents to calibrate on");
        int longest = documents.Longest;
        if (longest > c.ContextLength) throw new ArgumentException($"{documents.Source}: a document of {longest} tokens exceeds the model's context of {c.ContextLength}");

        var collector = new Collector(c, plan);
        var runner = new ForwardRunner(model, pool, maxTokens: longest);
        var cache = runner.CreateDenseCache(longest);
        int passes = plan.Channels ? 2 : 1;
        double work = (double)documents.Tokens * passes, done = 0;
        var options = ForwardOptions.WithHooks(collector);
        for (int pass = 1; pass <= passes; pass++)
        {
            collector.Pass = pass;
            foreach (var doc in documents.Documents)
            {
                cache.Truncate(0);
                collector.Rows = doc.Length;
                runner.Forward(doc, 0, cache, ForwardStage.Prefill, ForwardRunner.LogitRows.None, options);
                collector.Documents++;
                done += doc.Length;
                progress?.Report(done / work);
            }
            collector.EndPass();
        }
        return collector.Result(documents.Tokens);
    }

    /// <summary>
    /// The thresholds of one method at one target (one value per layer), with the model name and the text's hash
    /// recorded: what <c>sieve sparsity calibrate</c> writes.
    /// </summary>
    public static ActivationThresholds Calibrate(Transformer model, WorkerPool pool, CalibrationDocuments documents, SparsityMethod method, float[] sparsity,
        bool l2 = false, string? modelName = null, IProgress<double>? progress = null) =>
        Measure(model, pool, documents, new CalibrationPlan([method], [sparsity], l2), progress).Thresholds(method, 0, modelName, documents.Sha256);

    /// <summary>The hook: per-document statistics, summed over documents.</summary>
    sealed class Collector : IForwardHook
    {
        static readonly int SiteCount = Enum.GetValues<SparseSite>().Length;
        readonly ModelConfig _c;
        readonly CalibrationPlan _plan;
        readonly double[][][] _site;     // [target][layer][site] sums
        readonly double[][] _tau;        // [target][layer] sums
        readonly double[]?[] _up;        // [layer][channel] sums of per-document means
        double[]?[] _upMean = [];        // pass 2: the averaged m
        readonly long[] _index;          // one layer's selection indices, ascending
        float[] _abs = [];
        double[] _importance = [];
        readonly double[] _row;

        public int Pass { get; set; } = 1;
        public int Rows { get; set; }
        public int Documents { get; set; }
        int _pass1Documents;

        public Collector(ModelConfig c, CalibrationPlan plan)
        {
            _c = c; _plan = plan;
            int L = c.LayerCount, T = plan.Targets.Count;
            _site = Enumerable.Range(0, T).Select(_ => Enumerable.Range(0, L).Select(_ => new double[SiteCount]).ToArray()).ToArray();
            _tau = Enumerable.Range(0, T).Select(_ => new double[L]).ToArray();
            _up = new double[]?[L];
            if (plan.Channels) for (int l = 0; l < L; l++) _up[l] = new double[c.FfnDim];
            _index = new long[T];
            _row = new double[c.FfnDim];
        }

        public bool Wants(ActivationSite site, int layer) => Pass == 1
            ? site switch
            {
                ActivationSite.AttnNorm or ActivationSite.AttnOut => _plan.AttnInput,
                ActivationSite.GateAct => _plan.CatsGate,
                ActivationSite.Up => _plan.Channels,
                ActivationSite.FfnIn or ActivationSite.FfnAct => _plan.FfnInputs,
                _ => false,
            }
            : site == ActivationSite.GateAct;

        public void OnActivation(ActivationSite site, int layer, ForwardStage stage, int startPos, int count, int width, Span<float> values)
        {
            if (count != Rows || startPos != 0)
                throw new InvalidOperationException($"calibration expects each document's {Rows} rows in one call; got rows {startPos}..{startPos + count - 1}");
            if (Pass == 2) { Importance(layer, values, width); return; }
            switch (site)
            {
                case ActivationSite.AttnNorm:
                    // One statistic serves CHESS+'s q_proj input and TEAL's q/k/v input: the same tensor.
                    Magnitudes(layer, values, SparseSite.QInput, SparseSite.QkvInput);
                    break;
                case ActivationSite.AttnOut: Magnitudes(layer, values, SparseSite.OInput); break;
                case ActivationSite.GateAct: Magnitudes(layer, values, SparseSite.Gate); break;
                case ActivationSite.FfnIn: Magnitudes(layer, values, SparseSite.FfnInput); break;
                case ActivationSite.FfnAct: Magnitudes(layer, values, SparseSite.DownInput); break;
                case ActivationSite.Up: UpMean(layer, values, count, width); break;
            }
        }

        /// <summary>kth(|values|, s) for every target, added to the sums of <paramref name="sites"/>.</summary>
        void Magnitudes(int layer, ReadOnlySpan<float> values, params ReadOnlySpan<SparseSite> sites)
        {
            if (_abs.Length < values.Length) _abs = new float[values.Length];
            var abs = _abs.AsSpan(0, values.Length);
            TensorPrimitives.Abs(values, abs);
            CheckFinite(abs, layer);
            var kth = SelectAll(abs, layer);
            for (int t = 0; t < kth.Length; t++)
                foreach (var s in sites) _site[t][layer][(int)s] += kth[t];
        }

        /// <summary>Per target, kth of <paramref name="v"/> at that target's sparsity for this layer (v is reordered).</summary>
        double[] SelectAll<T>(Span<T> v, int layer) where T : System.Numerics.INumber<T>
        {
            int targets = _plan.Targets.Count;
            // Ascending indices for the successive selection, remembering which target each belongs to.
            var order = Enumerable.Range(0, targets).OrderBy(t => _plan.Targets[t][layer]).ToArray();
            for (int i = 0; i < targets; i++) _index[i] = OrderStatistic.Index(_plan.Targets[order[i]][layer], v.Length);
            var picked = new T[targets];
            OrderStatistic.Select(v, _index, picked);
            var result = new double[targets];
            for (int i = 0; i < targets; i++) result[order[i]] = double.CreateTruncating(picked[i]);
            return result;
        }

        /// <summary>Adds this document's per-channel mean of |up_i| (up_i² with L2), each row summed in double.</summary>
        void UpMean(int layer, ReadOnlySpan<float> values, int count, int width)
        {
            var sum = _row.AsSpan(0, width);
            sum.Clear();
            for (int r = 0; r < count; r++)
            {
                var row = values.Slice(r * width, width);
                for (int i = 0; i < width; i++)
                {
                    double u = row[i];
                    sum[i] += _plan.L2 ? u * u : Math.Abs(u);
                }
            }
            var acc = _up[layer]!;
            for (int i = 0; i < width; i++)
            {
                double mean = sum[i] / count;
                if (!double.IsFinite(mean)) throw new InvalidDataException($"layer {layer}: the up projection is not finite (channel {i}); the model's weights or text overflow");
                acc[i] += mean;
            }
        }

        /// <summary>Pass 2: τ's per-document kth of |act_i|·m_i (act_i²·m_i with L2) over all the document's (token, channel) pairs.</summary>
        void Importance(int layer, ReadOnlySpan<float> act, int width)
        {
            var m = _upMean[layer]!;
            if (_importance.Length < act.Length) _importance = new double[act.Length];
            var imp = _importance.AsSpan(0, act.Length);
            for (int r = 0; r < act.Length; r += width)
                for (int i = 0; i < width; i++)
                {
                    double a = act[r + i];
                    imp[r + i] = (_plan.L2 ? a * a : Math.Abs(a)) * m[i];
                }
            if (double.IsNaN(TensorPrimitives.Sum<double>(imp))) throw new InvalidDataException($"layer {layer}: the gate activation is not a number; the model's weights or text overflow");
            var kth = SelectAll(imp, layer);
            for (int t = 0; t < kth.Length; t++) _tau[t][layer] += kth[t];
        }

        static void CheckFinite(ReadOnlySpan<float> abs, int layer)
        {
            // Every value is ≥ 0 here, so the sum is NaN only if a value is: one pass, no branch per value.
            if (float.IsNaN(TensorPrimitives.Sum(abs))) throw new InvalidDataException($"layer {layer}: an activation is not a number; the model's weights or text overflow");
        }

        public void EndPass()
        {
            if (Pass != 1) return;
            _pass1Documents = Documents;
            Documents = 0;
            _upMean = _up.Select(u => u?.Select(x => x / _pass1Documents).ToArray()).ToArray();
        }

        public CalibrationStatistics Result(long tokens)
        {
            int n = _pass1Documents, L = _c.LayerCount;
            var site = _site.Select(t => t.Select(l => l.Select(x => x / n).ToArray()).ToArray()).ToArray();
            // Mark what was not gathered as NaN, so a wrong read is loud.
            foreach (var t in site)
                foreach (var l in t)
                {
                    if (!_plan.AttnInput) l[(int)SparseSite.QInput] = l[(int)SparseSite.QkvInput] = l[(int)SparseSite.OInput] = double.NaN;
                    if (!_plan.CatsGate) l[(int)SparseSite.Gate] = double.NaN;
                    if (!_plan.FfnInputs) l[(int)SparseSite.FfnInput] = l[(int)SparseSite.DownInput] = double.NaN;
                }
            var tau = _plan.Channels ? _tau.Select(t => t.Select(x => x / n).ToArray()).ToArray()
                : _tau.Select(t => t.Select(_ => double.NaN).ToArray()).ToArray();
            return new CalibrationStatistics
            {
                Plan = _plan, LayerCount = L, Dim = _c.Dim, QDim = _c.QDim, FfnDim = _c.FfnDim, Documents = n, Tokens = tokens,
                Site = site, Tau = tau, UpMean = _upMean,
            };
        }
    }
}
