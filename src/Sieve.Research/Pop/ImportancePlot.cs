namespace Sieve.Pop;

/// <summary>The paper's central picture: per layer, how much the prefill and the decode positions need the layer.</summary>
public static class ImportancePlot
{
    public static string Write(ImportanceReport report, string path)
    {
        var plot = new ScottPlot.Plot();
        var xs = report.Layers.Select(l => (double)l.Layer).ToArray();
        var palette = new ScottPlot.Palettes.Category10();
        void Curve(Func<LayerImportance, double> value, string label, int color, bool right)
        {
            var s = plot.Add.Scatter(xs, report.Layers.Select(value).ToArray());
            s.LegendText = label;
            s.Color = palette.GetColor(color);
            if (right)
            {
                s.LinePattern = ScottPlot.LinePattern.Dashed;
                s.Axes.YAxis = plot.Axes.Right;
            }
        }
        Curve(l => l.Prefill.Fisher, "prefill I = ½E[(∂L/∂g)²]", 0, right: false);
        Curve(l => l.Decode.Fisher, "decode I = ½E[(∂L/∂g)²]", 1, right: false);
        Curve(l => l.Text.Prefill.Ablation, "prefill ΔL (gate 0, text targets)", 0, right: true);
        Curve(l => l.Text.Decode.Ablation, "decode ΔL (gate 0, text targets)", 1, right: true);
        var s = report.Settings;
        plot.Title($"POP stage-wise importance: {report.Model} ({s.Windows} × {s.PromptLength}+{s.DecodeLength} tokens, ε {s.Epsilon:G3})");
        plot.XLabel("layer (0-based)");
        plot.YLabel("Fisher importance (solid)");
        plot.Axes.Right.Label.Text = "ablation ΔL, nats (dashed)";
        plot.ShowLegend(ScottPlot.Edge.Right);   // beside the axes, never over the curves
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        plot.SavePng(path, 1100, 500);
        return path;
    }
}
