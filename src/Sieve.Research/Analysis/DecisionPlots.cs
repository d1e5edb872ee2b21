using Sieve.Pruning;

namespace Sieve.Analysis;

/// <summary>PNG figures for people: margin per layer, option frequency per layer (stacked), accuracy vs layers pruned.</summary>
public static class DecisionPlots
{
    public static string Margin(DecisionCurves curves, string title, string path)
    {
        var plot = new ScottPlot.Plot();
        var xs = curves.Layers.Select(l => (double)l.Layer).ToArray();
        var margin = plot.Add.Scatter(xs, curves.Layers.Select(l => l.Margin).ToArray());
        margin.LegendText = "mean Decision Margin";
        var acc = plot.Add.Scatter(xs, curves.Layers.Select(l => l.Accuracy).ToArray());
        acc.LegendText = "read-out accuracy";
        plot.Add.HorizontalLine(0, pattern: ScottPlot.LinePattern.Dotted);
        plot.Add.HorizontalLine(curves.Chance, pattern: ScottPlot.LinePattern.Dashed).LegendText = "chance";
        if ((curves.TransitionStaysPositive ?? curves.TransitionHalfAccuracy) is int t)
            plot.Add.VerticalLine(t - 0.5, pattern: ScottPlot.LinePattern.Dashed).LegendText = $"transition (layer {t})";
        plot.Title(title);
        plot.XLabel("layer (0 = embedding)");
        plot.ShowLegend(ScottPlot.Edge.Right);   // beside the axes, never over the curves
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        plot.SavePng(path, 1000, 500);
        return path;
    }

    public static string OptionFrequency(DecisionCurves curves, string title, string path)
    {
        var plot = new ScottPlot.Plot();
        var labels = curves.Layers[0].OptionFrequency.Keys.ToList();
        var palette = new ScottPlot.Palettes.Category10();
        var bars = new List<ScottPlot.Bar>();
        foreach (var l in curves.Layers)
        {
            double bottom = 0;
            for (int o = 0; o < labels.Count; o++)
            {
                double v = l.OptionFrequency[labels[o]];
                bars.Add(new ScottPlot.Bar { Position = l.Layer, ValueBase = bottom, Value = bottom + v, FillColor = palette.GetColor(o) });
                bottom += v;
            }
        }
        plot.Add.Bars(bars);
        for (int o = 0; o < labels.Count; o++)
            plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = labels[o], FillColor = palette.GetColor(o) });
        plot.Title(title);
        plot.XLabel("layer (0 = embedding)");
        plot.YLabel("share of samples choosing the option");
        plot.ShowLegend(ScottPlot.Edge.Right);   // beside the axes, never over the curves
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        plot.SavePng(path, 1000, 500);
        return path;
    }

    /// <param name="layerCount">Blocks in the dense model; with the transition it places the phase boundary on the
    /// x axis: removing more than L − l* + 1 blocks must reach into the Silent Phase.</param>
    public static string Pruning(IReadOnlyDictionary<string, List<PruningStep>> curves, double chance, int? denseTransition, int layerCount, string title, string path)
    {
        var plot = new ScottPlot.Plot();
        foreach (var (name, steps) in curves)
        {
            var s = plot.Add.Scatter(steps.Select(x => (double)x.Removed).ToArray(), steps.Select(x => x.Accuracy).ToArray());
            s.LegendText = name;
        }
        plot.Add.HorizontalLine(chance, pattern: ScottPlot.LinePattern.Dashed).LegendText = "chance";
        if (denseTransition is int boundary && boundary >= 1)
            plot.Add.VerticalLine(layerCount - boundary + 1.5, pattern: ScottPlot.LinePattern.Dotted).LegendText =
                $"phase boundary: {layerCount - boundary + 1} Decisive-Phase blocks";
        plot.Title(title + (denseTransition is int t ? $" (dense transition at layer {t})" : ""));
        plot.XLabel("layers removed");
        plot.YLabel("accuracy");
        plot.ShowLegend(ScottPlot.Edge.Right);   // beside the axes, never over the curves
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        plot.SavePng(path, 1000, 500);
        return path;
    }
}
