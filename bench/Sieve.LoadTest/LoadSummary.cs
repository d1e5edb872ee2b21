using System.Globalization;
using System.Text;

namespace Sieve.LoadTest;

/// <summary>One kind of failure and how often it happened.</summary>
public sealed record FailureGroup(string Error, int Count, int FirstIndex);

/// <summary>Resident memory of the server across the run, in MiB.</summary>
/// <param name="WarmRequests">Requests finished by the warm-up reading (WarmupFraction of the run).</param>
/// <param name="SlopeMibPer1000Requests">Least-squares slope of the readings after warm-up against requests
/// finished: a garbage-collected server's RSS swings by tens of MiB between collections, so last − warm alone can
/// read as growth or shrinkage; a leak shows as a steady positive slope.</param>
/// <param name="ByTenths">The first reading at or after 0 %, 10 %, …, 100 % of the requests finished.</param>
public sealed record RssSummary(double FirstMib, double WarmMib, double WarmSeconds, int WarmRequests,
    double MaxMib, double MaxAfterWarmMib, double LastMib, double GrowthAfterWarmMib, double? SlopeMibPer1000Requests,
    double?[] ByTenths);

/// <summary>The figures a load run reports: counts by outcome, time to first token, aggregate decode rate and the
/// server's memory over time.</summary>
/// <param name="ShortCompletions">Completed requests that received fewer than max_tokens chunks while
/// ignore_eos was sent (a server that stopped early, or packed several tokens into one chunk).</param>
/// <param name="UsageMismatches">Completed requests whose usage.completion_tokens differs from the chunks
/// received.</param>
/// <param name="Tokens">Tokens received by all clients: a completed request counts its usage.completion_tokens
/// when the server sent usage, else its content chunks; a cancelled one the chunks it read before leaving.</param>
public sealed record LoadSummary(
    string? Label, string Url, string Model, int Clients, int Requests, int PromptTokens, int MaxTokens,
    double CancelFraction, int Completed, int Cancelled, int Failed, int ShortCompletions, int UsageMismatches,
    double? TtftP50Ms, double? TtftP99Ms, long Tokens, double WallSeconds, double DecodeTokensPerSecond,
    RssSummary? Rss, FailureGroup[] Failures)
{
    public static LoadSummary From(LoadRunResult run)
    {
        var o = run.Options;
        var r = run.Requests;
        var ttft = r.Where(x => x.Outcome != Outcome.Failed && x.TtftMs is not null).Select(x => x.TtftMs!.Value).Order().ToArray();
        var completed = r.Where(x => x.Outcome == Outcome.Completed).ToArray();
        long tokens = r.Sum(x => (long)(x.Outcome == Outcome.Completed && x.UsageTokens is { } u ? u : x.Chunks));
        var failures = r.Where(x => x.Outcome == Outcome.Failed)
            .GroupBy(x => $"{(x.Status == 0 ? "no response" : $"status {x.Status}")}: {x.Error}")
            .Select(g => new FailureGroup(g.Key, g.Count(), g.Min(x => x.Index)))
            .OrderByDescending(g => g.Count).ToArray();
        return new LoadSummary(o.Label, o.Url.ToString(), run.Model, o.Clients, o.Requests, o.PromptTokens, o.MaxTokens,
            o.CancelFraction, completed.Length, r.Count(x => x.Outcome == Outcome.Cancelled), failures.Sum(g => g.Count),
            o.IgnoreEos ? completed.Count(x => x.Chunks < o.MaxTokens) : 0,
            completed.Count(x => x.UsageTokens is { } u && u != x.Chunks),
            Percentile(ttft, 0.50), Percentile(ttft, 0.99), tokens, run.WallSeconds,
            run.WallSeconds > 0 ? tokens / run.WallSeconds : 0, SummarizeRss(run.Rss, o), failures);
    }

    /// <summary>Nearest-rank percentile of sorted values (the smallest value with at least p of them at or
    /// below it); null for none.</summary>
    public static double? Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0) return null;
        int rank = (int)Math.Ceiling(p * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    static RssSummary? SummarizeRss(IReadOnlyList<RssSample> s, LoadOptions o)
    {
        if (s.Count == 0) return null;
        static double Mib(long kib) => kib / 1024.0;
        int warmRequests = (int)Math.Ceiling(o.WarmupFraction * o.Requests);
        int w = 0;
        while (w < s.Count - 1 && s[w].RequestsDone < warmRequests) w++;
        var tenths = new double?[11];
        for (int k = 0; k <= 10; k++)
        {
            int need = (int)Math.Ceiling(k * o.Requests / 10.0);
            foreach (var x in s)
                if (x.RequestsDone >= need) { tenths[k] = Mib(x.RssKib); break; }
        }
        double maxAfter = s.Skip(w).Max(x => Mib(x.RssKib));
        double? slope = Slope(s.Skip(w).Select(x => ((double)x.RequestsDone, Mib(x.RssKib))).ToArray()) * 1000;
        return new RssSummary(Mib(s[0].RssKib), Mib(s[w].RssKib), s[w].Seconds, s[w].RequestsDone,
            s.Max(x => Mib(x.RssKib)), maxAfter, Mib(s[^1].RssKib), Mib(s[^1].RssKib) - Mib(s[w].RssKib), slope, tenths);
    }

    /// <summary>Least-squares slope of y on x; null with fewer than two distinct x.</summary>
    public static double? Slope(IReadOnlyList<(double X, double Y)> points)
    {
        if (points.Count < 2) return null;
        double mx = points.Average(p => p.X), my = points.Average(p => p.Y);
        double sxx = points.Sum(p => (p.X - mx) * (p.X - mx));
        return sxx == 0 ? null : points.Sum(p => (p.X - mx) * (p.Y - my)) / sxx;
    }

    public string Format()
    {
        var c = CultureInfo.InvariantCulture;
        var b = new StringBuilder();
        b.AppendLine(c, $"{Label ?? "server"} {Url} model {Model}: {Clients} clients, {Requests} requests, prompt {PromptTokens} tokens, " +
            $"max_tokens {MaxTokens}, cancel fraction {CancelFraction:0.###}");
        b.AppendLine(c, $"  completed {Completed}, cancelled {Cancelled}, failed {Failed} (short completions {ShortCompletions}, usage≠chunks {UsageMismatches})");
        b.AppendLine(c, $"  TTFT p50 {Ms(TtftP50Ms)}, p99 {Ms(TtftP99Ms)}");
        b.AppendLine(c, $"  {Tokens} tokens received in {WallSeconds:0.0} s: {DecodeTokensPerSecond:0.0} tok/s aggregate decode");
        if (Rss is { } m)
        {
            b.AppendLine(c, $"  RSS MiB: first {m.FirstMib:0.0}, after warm-up {m.WarmMib:0.0} ({m.WarmRequests} requests done, {m.WarmSeconds:0} s), " +
                $"max {m.MaxMib:0.0} (after warm-up {m.MaxAfterWarmMib:0.0}), last {m.LastMib:0.0}, growth after warm-up {m.GrowthAfterWarmMib:+0.0;-0.0;0.0}, " +
                $"slope after warm-up {(m.SlopeMibPer1000Requests is { } slope ? slope.ToString("+0.00;-0.00;0.00", c) : "-")} MiB per 1000 requests");
            b.Append("  RSS MiB by requests done:");
            for (int k = 0; k <= 10; k++) b.Append(c, $" {k * 10}% {(m.ByTenths[k] is { } v ? v.ToString("0.0", c) : "-")}");
            b.AppendLine();
        }
        foreach (var f in Failures) b.AppendLine(c, $"  FAILED ×{f.Count} (first: request {f.FirstIndex}): {f.Error}");
        return b.ToString();

        string Ms(double? v) => v is { } x ? x.ToString("0.0", c) + " ms" : "-";
    }
}
