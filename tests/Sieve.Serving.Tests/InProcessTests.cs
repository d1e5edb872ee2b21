using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Sieve.Serving.Tests;

/// <summary>The in-process side: <see cref="SieveChatClient"/>, its DI registration, and servers built with unusual options.</summary>
public sealed class InProcessTests
{
    static readonly Lazy<SieveModel> Model = new(() => SieveModel.Load(ServerProcess.Stories260K, new SieveModelOptions { Threads = 2 }));

    static ChatOptions Greedy(int max) => new() { Temperature = 0, MaxOutputTokens = max };

    [Fact]
    public async Task Chat_client_answers_streams_and_reports_usage()
    {
        using IChatClient client = new SieveChatClient(Model.Value, new ServerOptions { ModelId = "stories", Parallel = 4, Context = 512 });
        var response = await client.GetResponseAsync([new(ChatRole.User, "Once upon a time")], Greedy(20));
        Assert.False(string.IsNullOrWhiteSpace(response.Text));
        Assert.Equal(20, response.Usage!.OutputTokenCount);
        Assert.Equal(Microsoft.Extensions.AI.ChatFinishReason.Length, response.FinishReason);
        Assert.Equal("stories", response.ModelId);

        var streamed = new StringBuilder();
        UsageDetails? usage = null;
        await foreach (var u in client.GetStreamingResponseAsync([new(ChatRole.User, "Once upon a time")], Greedy(20)))
        {
            streamed.Append(u.Text);
            usage ??= u.Contents.OfType<UsageContent>().FirstOrDefault()?.Details;
        }
        Assert.Equal(response.Text, streamed.ToString());
        Assert.Equal(20, usage?.OutputTokenCount);
        Assert.Equal("stories", client.GetService<ChatClientMetadata>()?.DefaultModelId);
    }

    [Fact]
    public async Task Chat_client_is_safe_to_call_concurrently()
    {
        using IChatClient client = new SieveChatClient(Model.Value, new ServerOptions { Parallel = 8, Context = 512 });
        string[] prompts = ["Lily", "The dog", "One day", "Tom", "The sun", "Sara", "Ben", "Mom"];
        var sequential = new List<string>();
        foreach (var p in prompts) sequential.Add((await client.GetResponseAsync(p, Greedy(24))).Text);
        var concurrent = await Task.WhenAll(prompts.Select(p => client.GetResponseAsync(p, Greedy(24))));
        Assert.Equal(sequential, concurrent.Select(r => r.Text));
    }

    [Fact]
    public async Task Chat_client_honours_cancellation_and_maps_options()
    {
        using var client = new SieveChatClient(Model.Value, new ServerOptions { Parallel = 2, Context = 512 });
        using var cts = new CancellationTokenSource();
        int updates = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync("Once upon a time", new ChatOptions { Temperature = 0, MaxOutputTokens = 400 }, cts.Token))
                if (++updates == 3) cts.Cancel();
        });
        Assert.Equal(3, updates);

        // Stop sequences and seeds map as over HTTP.
        var full = (await client.GetResponseAsync("Once upon a time", Greedy(40))).Text;
        string stop = full.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3];
        var cut = await client.GetResponseAsync("Once upon a time", new ChatOptions { Temperature = 0, MaxOutputTokens = 40, StopSequences = [stop] });
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], cut.Text);
        Assert.Equal(Microsoft.Extensions.AI.ChatFinishReason.Stop, cut.FinishReason);
        var seeded = new ChatOptions { Temperature = 1, MaxOutputTokens = 20, Seed = 7 };
        Assert.Equal((await client.GetResponseAsync("Lily", seeded)).Text, (await client.GetResponseAsync("Lily", seeded)).Text);

        await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync("hi", new ChatOptions { Temperature = 9 }));
        await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync("hi", new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse("{}").RootElement) }));
        await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync([new(ChatRole.Tool, "x")]));
        // Sieve's methods per call.
        var selfIndex = await client.GetResponseAsync("Once upon a time", new ChatOptions { Temperature = 0, MaxOutputTokens = 10, AdditionalProperties = new() { ["sieve.kv"] = "selfindex", ["sieve.pop"] = 1 } });
        Assert.Equal(10, selfIndex.Usage!.OutputTokenCount);
        await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync("hi", new ChatOptions { AdditionalProperties = new() { ["sieve.kv"] = "magic" } }));
    }

    [Fact]
    public async Task Dependency_injection_registers_one_shared_client()
    {
        var services = new ServiceCollection();
        services.AddSieveChatClient(ServerProcess.Stories260K, o => o with { Parallel = 2, Context = 256 }, new SieveModelOptions { Threads = 2 });
        await using var provider = services.BuildServiceProvider();
        var a = provider.GetRequiredService<IChatClient>();
        Assert.Same(a, provider.GetRequiredService<IChatClient>());
        Assert.Equal("stories260K", a.GetService<ChatClientMetadata>()?.DefaultModelId);
        var r = await a.GetResponseAsync("Once upon a time", Greedy(8));
        Assert.Equal(8, r.Usage!.OutputTokenCount);
        Assert.Equal(256, provider.GetRequiredService<ServingModel>().Context);
    }

    [Fact]
    public async Task Full_queue_answers_503_with_retry_after()
    {
        await using var server = SieveServer.Create(new ServingModel(Model.Value, new ServerOptions { Port = 0, Parallel = 1, MaxQueue = 0, Context = 256 }), ownsModel: true);
        await server.StartAsync();
        using var http = new HttpClient();
        var body = new StringContent("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4}", Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(server.Urls[0] + "/v1/chat/completions", body);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("overloaded", doc.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Server_binds_loopback_by_default_and_reports_logprobs_and_choices()
    {
        Assert.Equal("127.0.0.1", new ServerOptions().Host);
        await using var server = SieveServer.Create(new ServingModel(Model.Value, new ServerOptions { Port = 0, Parallel = 4, Context = 256 }), ownsModel: true);
        await server.StartAsync();
        Assert.StartsWith("http://127.0.0.1:", server.Urls[0]);
        using var http = new HttpClient();
        var body = new StringContent("{\"messages\":[{\"role\":\"user\",\"content\":\"Lily\"}],\"max_tokens\":6,\"temperature\":0,\"logprobs\":true,\"top_logprobs\":3,\"n\":2}", Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(server.Urls[0] + "/v1/chat/completions", body);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var choices = doc.RootElement.GetProperty("choices");
        Assert.Equal(2, choices.GetArrayLength());
        // Greedy: both choices are the same text, and each token is its step's most likely one.
        Assert.Equal(choices[0].GetProperty("message").GetProperty("content").GetString(), choices[1].GetProperty("message").GetProperty("content").GetString());
        var content = choices[0].GetProperty("logprobs").GetProperty("content");
        Assert.Equal(6, content.GetArrayLength());
        foreach (var entry in content.EnumerateArray())
        {
            var top = entry.GetProperty("top_logprobs");
            Assert.Equal(3, top.GetArrayLength());
            Assert.Equal(top[0].GetProperty("token").GetString(), entry.GetProperty("token").GetString());
            Assert.Equal(top[0].GetProperty("logprob").GetDouble(), entry.GetProperty("logprob").GetDouble(), 5);
            Assert.True(entry.GetProperty("logprob").GetDouble() <= 0);
        }
        Assert.Equal(12, doc.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }
}
