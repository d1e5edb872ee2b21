namespace Sieve.Analysis;

/// <summary>One layer's aggregate read-out.</summary>
public sealed record LayerDecision(int Layer, double Margin, double LogitMargin, double Accuracy, IReadOnlyDictionary<string, double> OptionFrequency);

/// <summary>
/// Decision Margin, read-out accuracy and Option Frequency per layer, and the Silent → Decisive transition by the
/// three detectors of the method notes §1.2, reported side by side (the paper's own definition is not public).
/// </summary>
public sealed record DecisionCurves(IReadOnlyList<LayerDecision> Layers, int? TransitionStaysPositive, int TransitionSharpestJump, int? TransitionHalfAccuracy, double Chance)
{
    public static DecisionCurves From(IReadOnlyList<SampleDecisions> samples, IReadOnlyList<string> labels)
    {
        int layers = samples[0].OptionLogits.Length, options = labels.Count;
        var result = new List<LayerDecision>();
        for (int l = 0; l < layers; l++)
        {
            double margin = 0, logitMargin = 0, correct = 0;
            var freq = new double[options];
            foreach (var s in samples)
            {
                var z = s.OptionLogits[l];
                var p = Softmax(z);
                double bestWrong = double.NegativeInfinity, bestWrongLogit = double.NegativeInfinity;
                for (int o = 0; o < options; o++)
                    if (o != s.Gold) { bestWrong = Math.Max(bestWrong, p[o]); bestWrongLogit = Math.Max(bestWrongLogit, z[o]); }
                margin += p[s.Gold] - bestWrong;
                logitMargin += z[s.Gold] - bestWrongLogit;
                int arg = 0;
                for (int o = 1; o < options; o++) if (z[o] > z[arg]) arg = o;
                freq[arg]++;
                if (arg == s.Gold) correct++;
            }
            int n = samples.Count;
            result.Add(new LayerDecision(l, margin / n, logitMargin / n, correct / n,
                labels.Select((lab, o) => (lab, freq[o] / n)).ToDictionary(t => t.lab, t => t.Item2)));
        }
        double chance = 1.0 / options;
        // (a) first layer from which the mean margin stays positive
        int? a = null;
        for (int l = layers - 1; l >= 0 && result[l].Margin > 0; l--) a = l;
        // (b) the sharpest rise of the mean margin between consecutive layers (the later layer is reported)
        int b = 1;
        for (int l = 1; l < layers; l++) if (result[l].Margin - result[l - 1].Margin > result[b].Margin - result[b - 1].Margin) b = l;
        // (c) first layer whose accuracy passes chance + ½(final accuracy − chance)
        double threshold = chance + 0.5 * (result[^1].Accuracy - chance);
        int? c = result[^1].Accuracy > chance ? result.FirstOrDefault(r => r.Accuracy > threshold)?.Layer : null;
        return new DecisionCurves(result, a, layers > 1 ? b : 0, c, chance);
    }

    static double[] Softmax(float[] z)
    {
        double max = z.Max();
        var e = z.Select(v => Math.Exp(v - max)).ToArray();
        double s = e.Sum();
        return e.Select(v => v / s).ToArray();
    }
}
