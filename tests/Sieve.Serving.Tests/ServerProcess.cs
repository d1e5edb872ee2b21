using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Sieve.Serving.Tests;

/// <summary>
/// A real <c>sieve serve</c> process (the CLI built beside the tests) on a free loopback port, started once for the
/// tests of a collection: the clients under test talk to it over TCP exactly as a user's would.
/// </summary>
public sealed class ServerProcess : IAsyncLifetime
{
    public const string Key = "test-key-5f2c";
    public const string ModelId = "stories260K";
    Process? _process;
    readonly System.Text.StringBuilder _stderr = new();

    public string BaseUrl { get; private set; } = "";
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(120) };

    public static string RepoRoot { get; } = FindRoot();

    static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Sieve.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root (Sieve.slnx) not found above " + AppContext.BaseDirectory);
    }

    public static string Stories260K => Path.Combine(RepoRoot, "models", "stories260K", "stories260K.gguf");

    /// <summary>The server's stderr so far (for assertion messages).</summary>
    public string Log { get { lock (_stderr) return _stderr.ToString(); } }

    public async Task InitializeAsync()
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false, WorkingDirectory = RepoRoot };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Sieve.Cli.dll"));
        foreach (var a in new[] { "serve", "-m", Stories260K, "--port", "0", "--parallel", "16", "--ctx-size", "512", "--api-key", Key, "-t", "2" })
            psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        _process = Process.Start(psi)!;
        var url = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data == null) { url.TrySetException(new InvalidOperationException("sieve serve exited: " + Log)); return; }
            lock (_stderr) _stderr.AppendLine(e.Data);
            var m = Regex.Match(e.Data, @"listening on (http://\S+?) ");
            if (m.Success) url.TrySetResult(m.Groups[1].Value);
        };
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        BaseUrl = await url.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Key);
    }

    /// <summary>The value of one metric line of /metrics.</summary>
    public async Task<double> Metric(string name)
    {
        var text = await Http.GetStringAsync(BaseUrl + "/metrics");
        foreach (var line in text.Split('\n'))
            if (line.StartsWith(name + " ", StringComparison.Ordinal))
                return double.Parse(line[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        throw new InvalidOperationException($"/metrics has no {name}:\n{text}");
    }

    /// <summary>Waits (up to 10 s) until <paramref name="name"/> reads <paramref name="value"/>; returns the last reading.</summary>
    public async Task<double> MetricBecomes(string name, double value)
    {
        var clock = Stopwatch.StartNew();
        double v;
        while ((v = await Metric(name)) != value && clock.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(50);
        return v;
    }

    public Task DisposeAsync()
    {
        Http.Dispose();
        if (_process is { HasExited: false }) { _process.Kill(entireProcessTree: true); _process.WaitForExit(10_000); }
        _process?.Dispose();
        return Task.CompletedTask;
    }
}

[CollectionDefinition("server")]
public sealed class ServerCollection : ICollectionFixture<ServerProcess>;
