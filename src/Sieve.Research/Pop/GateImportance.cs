using Sieve.Models;

namespace Sieve.Pop;

/// <summary>Where a measurement stands: window <see cref="Window"/> (0-based) of <see cref="Windows"/>, pass <see cref="Pass"/> of <see cref="PassesPerWindow"/>.</summary>
public readonly record struct ImportanceProgress(int Window, int Windows, int Pass, int PassesPerWindow);

/// <summary>What <see cref="GateImportance.Measure"/> found: per layer, per stage, under sampled and text targets.</summary>
public sealed record ImportanceResult(IReadOnlyList<LayerImportance> Layers, LossPair DenseLoss, long ForwardPasses);

/// <summary>
/// POP's stage-wise importance without autograd. For each window, layer l and stage s, the stage's gate on the layer's
/// residual branch runs at 1 + ε, 1 − ε and 0 (every other gate 1): central differences give ∂L/∂g and ∂²L/∂g², the
/// zero gate the ablation. That is 6L + 1 passes per window (the dense one shared), with the prefix reuse of
/// <see cref="WindowLoss"/>. Per-window derivatives are squared before averaging: I = ½·E_windows[(∂L/∂g)²].
/// </summary>
public static class GateImportance
{
    /// <summary>Smallest ε: 1 + ε must differ from 1 − ε in float32 by many ulps (1.2e-7 at 1) for the difference to mean anything.</summary>
    public const double MinEpsilon = 1e-4;
    /// <summary>Largest ε: beyond it the "derivative" describes a different gate, not the model's neighbourhood.</summary>
    public const double MaxEpsilon = 0.5;

    public static ImportanceResult Measure(ForwardRunner runner, ImportanceWindows windows, double epsilon, int seed = 0,
        IProgress<ImportanceProgress>? progress = null, bool reusePrefix = true)
    {
        if (!(epsilon >= MinEpsilon && epsilon <= MaxEpsilon)) throw new ArgumentException($"--epsilon {epsilon}: must be a number from {MinEpsilon} to {MaxEpsilon}");
        int L = runner.Config.LayerCount;
        if (windows.Length > runner.Config.ContextLength)
            throw new ArgumentException($"windows of {windows.Length} tokens do not fit the model's context of {runner.Config.ContextLength}");
        float plus = (float)(1 + epsilon), minus = (float)(1 - epsilon);
        double step = (double)plus - minus, half = step / 2;   // the gates as float32 holds them
        var stages = new[] { ForwardStage.Prefill, ForwardStage.Decode };
        // [stage, layer, target] sums over windows
        var sums = new Accumulator[2, L, 2];
        for (int i = 0; i < sums.Length; i++) sums[i / (2 * L), i / 2 % L, i % 2] = new Accumulator();
        double denseSampled = 0, denseText = 0;
        long passes = 0;
        int perWindow = 6 * L + 1;
        for (int w = 0; w < windows.Windows.Count; w++)
        {
            var loss = new WindowLoss(runner, windows.Windows[w], windows.PromptLength, new Random(unchecked(seed * 1_000_003 + w)), reusePrefix);
            var dense = loss.Dense;
            denseSampled += dense.Sampled; denseText += dense.Text;
            int done = 1;
            progress?.Report(new ImportanceProgress(w, windows.Windows.Count, done, perWindow));
            // Decode-stage gates first: they keep the dense prefill in the cache, so those passes rerun only D rows.
            foreach (var stage in stages.Reverse())
            {
                int s = stage == ForwardStage.Prefill ? 0 : 1;
                for (int l = 0; l < L; l++)
                {
                    var up = loss.At(stage, l, plus);
                    var down = loss.At(stage, l, minus);
                    var zero = loss.At(stage, l, 0f);
                    sums[s, l, 0].Add(up.Sampled, dense.Sampled, down.Sampled, zero.Sampled, step, half);
                    sums[s, l, 1].Add(up.Text, dense.Text, down.Text, zero.Text, step, half);
                    done += 3;
                    progress?.Report(new ImportanceProgress(w, windows.Windows.Count, done, perWindow));
                }
            }
            passes += loss.Passes;
        }
        int n = windows.Windows.Count;
        var layers = Enumerable.Range(0, L).Select(l => new LayerImportance(l,
            sums[0, l, 0].Scores(n), sums[1, l, 0].Scores(n),
            new StageScores(sums[0, l, 1].Scores(n), sums[1, l, 1].Scores(n)))).ToList();
        return new ImportanceResult(layers, new LossPair(denseSampled / n, denseText / n), passes);
    }

    /// <summary>Sums over windows of one (stage, layer, target): ∂L/∂g, its square, ∂²L/∂g², L(0) − L(1).</summary>
    sealed class Accumulator
    {
        double _d, _d2, _curvature, _ablation;

        /// <param name="step">g₊ − g₋ as float32 holds the gates (2ε up to rounding).</param>
        /// <param name="half">half the step: the distance of each gate from 1.</param>
        public void Add(double up, double mid, double down, double zero, double step, double half)
        {
            double d = (up - down) / step;
            _d += d; _d2 += d * d;
            _curvature += (up - 2 * mid + down) / (half * half);
            _ablation += zero - mid;
        }

        public GateScores Scores(int n) => new(0.5 * _d2 / n, _curvature / n, _ablation / n, _d / n);
    }
}
