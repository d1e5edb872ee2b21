using System.Diagnostics;

namespace Sieve.LoadTest;

/// <summary>Everything one run measured.</summary>
public sealed record LoadRunResult(LoadOptions Options, string Model, double WallSeconds,
    RequestResult[] Requests, IReadOnlyList<RssSample> Rss);

/// <summary>Runs the plans through <c>Clients</c> concurrent clients, each taking the next unsent request as soon
/// as its last one ended (a closed loop, as a pool of chat users would), while sampling the server's memory.</summary>
public static class LoadRun
{
    public static async Task<LoadRunResult> RunAsync(LoadOptions o, string model, HttpClient http,
        TextWriter? progress, CancellationToken ct)
    {
        var plans = RequestPlan.MakeAll(o);
        var results = new RequestResult[plans.Length];
        var runner = new RequestRunner(http, o, model);
        var clock = Stopwatch.StartNew();
        int next = -1, done = 0, failed = 0, cancelled = 0;
        long tokens = 0;

        RssSampler? rss = o.Pid is { } pid ? new RssSampler(pid, clock, () => Volatile.Read(ref done)) : null;
        if (rss is not null && !rss.SampleNow())
            throw new ArgumentException($"--pid {o.Pid}: /proc/{o.Pid}/status has no VmRSS line (is the process running?)");
        using var stopSampling = new CancellationTokenSource();
        var sampling = rss?.RunAsync(stopSampling.Token) ?? Task.CompletedTask;
        var reporting = progress is null ? Task.CompletedTask : ReportAsync();

        async Task Client()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < plans.Length && !ct.IsCancellationRequested)
            {
                var r = await runner.RunAsync(plans[i], clock, ct).ConfigureAwait(false);
                results[i] = r;
                Interlocked.Add(ref tokens, r.Chunks);
                if (r.Outcome == Outcome.Failed) Interlocked.Increment(ref failed);
                if (r.Outcome == Outcome.Cancelled) Interlocked.Increment(ref cancelled);
                Interlocked.Increment(ref done);
            }
        }

        async Task ReportAsync()
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(10));
            try
            {
                while (await timer.WaitForNextTickAsync(stopSampling.Token).ConfigureAwait(false))
                {
                    double s = clock.Elapsed.TotalSeconds;
                    progress.WriteLine($"[{s,6:0} s] {Volatile.Read(ref done)}/{plans.Length} done, {Volatile.Read(ref cancelled)} cancelled, " +
                        $"{Volatile.Read(ref failed)} failed, {Interlocked.Read(ref tokens) / s:0.0} tok/s so far");
                }
            }
            catch (OperationCanceledException) { }
        }

        await Task.WhenAll(Enumerable.Range(0, Math.Min(o.Clients, plans.Length)).Select(_ => Task.Run(Client))).ConfigureAwait(false);
        double wall = clock.Elapsed.TotalSeconds;
        rss?.SampleNow();   // the last reading: after every request ended
        stopSampling.Cancel();
        await Task.WhenAll(sampling, reporting).ConfigureAwait(false);
        // An interrupted run leaves the unsent requests out.
        var finished = results.Where(r => r is not null).ToArray();
        return new LoadRunResult(o, model, wall, finished, rss?.Samples ?? []);
    }
}
