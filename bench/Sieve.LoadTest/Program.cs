using System.Text.Json;
using System.Text.Json.Serialization;
using Sieve.LoadTest;

// Exit codes: 0 every request completed or was cancelled as planned; 1 some failed; 2 bad options or no server.
if (args.Length == 0 || args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(LoadOptions.Usage);
    return args.Length == 0 ? 2 : 0;
}

LoadOptions options;
try { options = LoadOptions.Parse(args); }
catch (ArgumentException e)
{
    Console.Error.WriteLine($"Sieve.LoadTest: {e.Message}");
    return 2;
}

using var http = RequestRunner.CreateClient(options);
using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; interrupt.Cancel(); };

string model;
try { model = options.Model ?? await ModelList.FirstIdAsync(http, options.Url, interrupt.Token); }
catch (Exception e) when (e is HttpRequestException or IOException or JsonException or InvalidDataException or TaskCanceledException)
{
    Console.Error.WriteLine($"Sieve.LoadTest: cannot list the models at {new Uri(options.Url, "v1/models")} ({e.Message}); is the server up? (--model ID skips the lookup)");
    return 2;
}

LoadRunResult run;
try { run = await LoadRun.RunAsync(options, model, http, Console.Error, interrupt.Token); }
catch (ArgumentException e)
{
    Console.Error.WriteLine($"Sieve.LoadTest: {e.Message}");
    return 2;
}

var summary = LoadSummary.From(run);
Console.Write(summary.Format());
if (options.JsonPath is { } path)
{
    var json = new JsonSerializerOptions
    {
        WriteIndented = false,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
    await using var file = File.Create(path);
    await JsonSerializer.SerializeAsync(file, new { summary, rss = run.Rss, requests = run.Requests }, json);
}
return summary.Failed == 0 && run.Requests.Length == options.Requests ? 0 : 1;
