using Sieve.LoadTest;

namespace Sieve.Tests.LoadTest;

/// <summary>bench/Sieve.LoadTest: its SSE and chunk parsing, its seeded plans, its option errors, and a whole run
/// against a scripted server that fails, truncates and streams on cue.</summary>
public class LoadToolTests
{
    static async Task<List<SseEvent>> Events(string text)
    {
        var list = new List<SseEvent>();
        await foreach (var e in SseReader.ReadAsync(new StringReader(text))) list.Add(e);
        return list;
    }

    [Fact]
    public async Task SseReader_JoinsDataLines_SkipsComments_NamesErrorEvents()
    {
        var events = await Events(
            ": keep-alive\r\n" +
            "data: {\"a\":1}\r\n\r\n" +
            "data:two\ndata: lines\n\n" +
            "event: ping\ndata: x\nid: 7\n\n" +
            "\n\n" +
            "error: {\"code\":500}\n\n" +
            "data: [DONE]");   // the last event without its blank line
        Assert.Equal(
            new SseEvent[] { new("message", "{\"a\":1}"), new("message", "two\nlines"), new("ping", "x"), new("error", "{\"code\":500}"), new("message", "[DONE]") },
            events);
    }

    [Fact]
    public void StreamChunk_ReadsTextDeltaUsageAndErrors()
    {
        var c = StreamChunk.Parse("""{"choices":[{"text":"ab","index":0,"finish_reason":null}]}""", Endpoint.Completions);
        Assert.Equal(new StreamChunk("ab", null, null, null), c);
        var chat = StreamChunk.Parse("""{"choices":[{"delta":{"content":"cd"},"finish_reason":"length"}],"usage":{"completion_tokens":9}}""", Endpoint.Chat);
        Assert.Equal(new StreamChunk("cd", "length", 9, null), chat);
        // A chat role chunk has no content; a usage-only chunk (OpenAI's include_usage) has no choices.
        Assert.Null(StreamChunk.Parse("""{"choices":[{"delta":{"role":"assistant"}}]}""", Endpoint.Chat).Content);
        Assert.Equal(4, StreamChunk.Parse("""{"choices":[],"usage":{"completion_tokens":4}}""", Endpoint.Chat).CompletionTokens);
        Assert.Equal("boom", StreamChunk.Parse("""{"error":{"message":"boom","type":"x"}}""", Endpoint.Chat).Error);
        Assert.StartsWith("chunk is not JSON", StreamChunk.Parse("{nope", Endpoint.Completions).Error);
        Assert.StartsWith("chunk is not a JSON object", StreamChunk.Parse("[1]", Endpoint.Completions).Error);
    }

    [Fact]
    public void Plans_AreSeeded_InRange_AndCancelMidStream()
    {
        var o = new LoadOptions { Url = new Uri("http://127.0.0.1/"), Requests = 2000, MaxTokens = 16, PromptTokens = 12, Vocab = 600, FirstToken = 259, CancelFraction = 0.25, Seed = 5 };
        var a = RequestPlan.MakeAll(o);
        var b = RequestPlan.MakeAll(o);
        Assert.Equal(a.Select(p => p.CancelAfterChunks), b.Select(p => p.CancelAfterChunks));
        Assert.Equal(a.SelectMany(p => p.PromptTokens!), b.SelectMany(p => p.PromptTokens!));
        Assert.NotEqual(a[0].PromptTokens, a[1].PromptTokens);
        Assert.All(a, p => Assert.Equal(12, p.PromptTokens!.Length));
        Assert.All(a.SelectMany(p => p.PromptTokens!), t => Assert.InRange(t, 259, 599));
        var cancels = a.Where(p => p.CancelAfterChunks != null).ToArray();
        Assert.InRange(cancels.Length, 400, 600);   // 25 % of 2000 is 500; binomial sd ≈ 19
        Assert.All(cancels, p => Assert.InRange(p.CancelAfterChunks!.Value, 1, 15));
        Assert.Equal(15, cancels.Max(p => p.CancelAfterChunks));
        Assert.Equal(1, cancels.Min(p => p.CancelAfterChunks));
        var text = RequestPlan.MakeAll(o with { PromptKind = PromptKind.Text });
        Assert.All(text, p => Assert.Matches("^[a-z]{12}$", p.PromptText));
        Assert.NotEqual(a.Select(p => p.CancelAfterChunks), RequestPlan.MakeAll(o with { Seed = 6 }).Select(p => p.CancelAfterChunks));
    }

    [Theory]
    [InlineData(new[] { "--clients", "4" }, "--url is required")]
    [InlineData(new[] { "--url", "ftp://x" }, "--url 'ftp://x'")]
    [InlineData(new[] { "--url", "http://h", "--clients", "0" }, "--clients '0'")]
    [InlineData(new[] { "--url", "http://h", "--cancel-fraction", "1.5" }, "--cancel-fraction '1.5'")]
    [InlineData(new[] { "--url", "http://h", "--endpoint", "embeddings" }, "--endpoint 'embeddings' must be one of: completions, chat")]
    [InlineData(new[] { "--url", "http://h", "--endpoint", "chat" }, "--prompt-kind text")]
    [InlineData(new[] { "--url", "http://h", "--vocab", "100" }, "--first-token 259 must be below --vocab 100")]
    [InlineData(new[] { "--url", "http://h", "--max-tokens" }, "--max-tokens needs a value")]
    [InlineData(new[] { "--url", "http://h", "--frobnicate" }, "unknown option '--frobnicate'")]
    public void Options_RefuseBadValues_NamingTheOption(string[] args, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => LoadOptions.Parse(args));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Options_ParseEveryValue()
    {
        var o = LoadOptions.Parse(["--url", "http://127.0.0.1:9/", "--clients", "3", "--requests", "7", "--max-tokens", "5", "--prompt-tokens", "6",
            "--prompt-kind", "text", "--endpoint", "chat", "--cancel-fraction", "0.5", "--seed", "9", "--no-ignore-eos", "--pid", "12", "--label", "x"]);
        Assert.Equal((3, 7, 5, 6, PromptKind.Text, Endpoint.Chat, 0.5, 9, false, 12, "x"),
            (o.Clients, o.Requests, o.MaxTokens, o.PromptTokens, o.PromptKind, o.Endpoint, o.CancelFraction, o.Seed, o.IgnoreEos, o.Pid, o.Label));
    }

    [Fact]
    public void Percentile_IsNearestRank()
    {
        double[] v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        Assert.Equal(5, LoadSummary.Percentile(v, 0.5));
        Assert.Equal(10, LoadSummary.Percentile(v, 0.99));
        Assert.Equal(1, LoadSummary.Percentile(v, 0));
        Assert.Null(LoadSummary.Percentile([], 0.5));
    }

    [Fact]
    public void Slope_IsLeastSquares()
    {
        Assert.Equal(2.0, LoadSummary.Slope([(0, 1), (1, 3), (2, 5)])!.Value, 12);
        Assert.Equal(0.0, LoadSummary.Slope([(0, 5), (1, 4), (2, 4), (3, 5)])!.Value, 12);
        Assert.Null(LoadSummary.Slope([(1, 5), (1, 6)]));
        Assert.Null(LoadSummary.Slope([(1, 5)]));
    }

    [Fact]
    public async Task Run_CountsOutcomes_ListsFailures_AndClosesCancelledStreams()
    {
        await using var server = new FakeSseServer { Fail500 = 4, Truncate = 9, NoDone = 14 };
        var o = new LoadOptions
        {
            Url = server.Url, Clients = 4, Requests = 40, MaxTokens = 16, PromptTokens = 4, Vocab = 300,
            CancelFraction = 0.3, Seed = 3, Pid = Environment.ProcessId, WarmupFraction = 0.25,
        };
        using var http = RequestRunner.CreateClient(o);
        string model = await ModelList.FirstIdAsync(http, o.Url, default);
        Assert.Equal("fake", model);
        var run = await LoadRun.RunAsync(o, model, http, progress: null, default);
        var plans = RequestPlan.MakeAll(o);

        Assert.Equal(40, run.Requests.Length);
        var failed = run.Requests.Where(r => r.Outcome == Outcome.Failed).ToArray();
        Assert.True(failed.Length == 3, string.Join("\n", failed.Select(f => $"{f.Index} {f.Status} {f.Chunks} {f.Error}").Concat(server.Errors)));
        Assert.Empty(server.Errors);
        Assert.Contains(failed, r => r.Status == 500 && r.Error!.Contains("\"injected\""));
        Assert.Contains(failed, r => r.Status == 200 && r.Error!.Contains("The response ended prematurely") && r.Chunks == 0);
        Assert.Contains(failed, r => r.Status == 200 && r.Error == "stream ended without data: [DONE]" && r.Chunks == 0);
        foreach (var r in run.Requests.Where(r => r.Outcome != Outcome.Failed))
        {
            var plan = plans[r.Index];
            Assert.Equal(plan.CancelAfterChunks is null ? Outcome.Completed : Outcome.Cancelled, r.Outcome);
            Assert.Equal(plan.CancelAfterChunks ?? 16, r.Chunks);
            Assert.Equal(plan.CancelAfterChunks is null ? 16 : (int?)null, r.UsageTokens);
            Assert.NotNull(r.TtftMs);
            Assert.InRange(r.TtftMs!.Value, 0, r.TotalMs);
        }
        int cancelled = run.Requests.Count(r => r.Outcome == Outcome.Cancelled);
        Assert.InRange(cancelled, 1, 37);
        // Disposing a response mid-stream closes its connection, so the server's writes fail; with HttpClient's
        // default drain (up to 1 MB for 2 s, to reuse the connection) none would.
        Assert.InRange(server.Disconnects, 1, cancelled);

        var s = LoadSummary.From(run);
        Assert.Equal((37 - cancelled, cancelled, 3, 0, 0), (s.Completed, s.Cancelled, s.Failed, s.ShortCompletions, s.UsageMismatches));
        Assert.Equal(run.Requests.Sum(r => (long)r.Chunks), s.Tokens);
        Assert.Equal(3, s.Failures.Length);
        Assert.Contains(s.Failures, f => f.Error.StartsWith("status 500: HTTP 500:") && f.Count == 1);
        Assert.Contains("failed 3", s.Format());
        Assert.NotNull(s.Rss);
        Assert.True(s.Rss!.FirstMib > 0 && s.Rss.MaxMib >= s.Rss.LastMib);
        Assert.True(s.Rss.WarmRequests >= 10 || s.Rss.WarmRequests == run.Rss[^1].RequestsDone);
        Assert.Equal(40, run.Rss[^1].RequestsDone);   // the last reading is taken after every request ended
    }
}
