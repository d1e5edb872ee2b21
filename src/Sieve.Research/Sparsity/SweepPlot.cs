namespace Sieve.Sparsity;

/// <summary>The sweep's picture: per method, KL against dense (lines, left axis) and perplexity (open squares, right axis) against the decode speed-up, each KL point labelled with its target.</summary>
public static class SweepPlot
{
    public static string Write(SweepReport report, string path)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int color = 0;
        foreach (var group in report.Points.GroupBy(p => p.Method))
        {
            var points = group.OrderBy(p => p.Target).ToArray();
            var xs = points.Select(p => p.Speedup).ToArray();
            var kl = plot.Add.Scatter(xs, points.Select(p => p.MeanKl).ToArray());
            kl.LegendText = $"{group.Key}: KL";
            kl.Color = palette.GetColor(color);
            // Perplexity as open squares, unconnected: a second family of lines over the KL ones is unreadable.
            var ppl = plot.Add.Scatter(xs, points.Select(p => p.Perplexity).ToArray());
            ppl.LegendText = $"{group.Key}: PPL";
            ppl.Color = palette.GetColor(color);
            ppl.LineWidth = 0;
            ppl.MarkerShape = ScottPlot.MarkerShape.OpenSquare;
            ppl.MarkerSize = 8;
            ppl.Axes.YAxis = plot.Axes.Right;
            foreach (var p in points)
            {
                var label = plot.Add.Text($"{p.Target * 100:0}%", p.Speedup, p.MeanKl);
                label.LabelFontSize = 10;
                label.LabelFontColor = palette.GetColor(color);
            }
            color++;
        }
        var dense = plot.Add.HorizontalLine(report.DensePerplexity);
        dense.Axes.YAxis = plot.Axes.Right;
        dense.LinePattern = ScottPlot.LinePattern.Dotted;
        dense.LegendText = "dense PPL";
        plot.Title($"Activation sparsity: {report.Model}, {report.HeldOutTokens} held-out tokens, {report.Threads} threads");
        plot.XLabel("decode speed-up against dense (×)");
        plot.YLabel("mean KL against dense, nats (lines)");
        plot.Axes.Right.Label.Text = "perplexity (open squares)";
        plot.ShowLegend(ScottPlot.Edge.Right);
        plot.SavePng(path, 1100, 550);
        return path;
    }
}
