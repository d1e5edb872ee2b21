using System.ClientModel;
using System.Text;
using OpenAI;
using OpenAI.Chat;

namespace Sieve.Serving.Tests;

/// <summary>Continuous batching seen from outside: concurrent clients get what sequential ones get, and leaving frees memory.</summary>
[Collection("server")]
public sealed class ConcurrencyTests(ServerProcess server)
{
    ChatClient Chat() => new(ServerProcess.ModelId, new ApiKeyCredential(ServerProcess.Key), new OpenAIClientOptions { Endpoint = new Uri(server.BaseUrl + "/v1"), NetworkTimeout = TimeSpan.FromSeconds(120) });

    static readonly string[] Starts = ["Once upon a time", "Lily", "The dog", "Tom and Sue", "One day", "The sun", "A little bird", "Ben had a ball",
        "Mom said", "The big tree", "Sara", "It was a cold day", "The cat", "Max liked to", "There was a boat", "The girl"];

    async Task<string> Stream(string prompt, int max)
    {
        var sb = new StringBuilder();
        await foreach (var u in Chat().CompleteChatStreamingAsync([new UserChatMessage(prompt)], new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = max }))
            foreach (var p in u.ContentUpdate) sb.Append(p.Text);
        return sb.ToString();
    }

    [Fact]
    public async Task Sixteen_concurrent_streams_equal_sixteen_sequential_runs()
    {
        // Different lengths: prompts differ and replies are cut at different budgets, so sequences join and leave the batch at different steps.
        int Max(int i) => 20 + 5 * i;
        var sequential = new List<string>();
        for (int i = 0; i < Starts.Length; i++) sequential.Add(await Stream(Starts[i], Max(i)));
        double stepsBefore = await server.Metric("sieve_forward_steps_total");
        var concurrent = await Task.WhenAll(Starts.Select((s, i) => Stream(s, Max(i))));
        double steps = await server.Metric("sieve_forward_steps_total") - stepsBefore;
        for (int i = 0; i < Starts.Length; i++) Assert.Equal(sequential[i], concurrent[i]);
        // Premise: they really shared forward passes (alone, the 16 replies take ≥ 16 × 20 steps).
        Assert.True(steps < Enumerable.Range(0, Starts.Length).Sum(Max) / 2.0, $"{steps} steps for {Starts.Length} concurrent requests: they did not batch");
    }

    [Fact]
    public async Task Clients_that_disconnect_mid_stream_free_their_kv()
    {
        double cancelledBefore = await server.Metric("sieve_generations_cancelled_total");
        var clients = Enumerable.Range(0, 4).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/v1/chat/completions")
            {
                // 4 clients × 8 choices × 480 tokens: 32 sequences, twice what the server runs at once, and ~1000 steps of
                // work, so every client leaves while its choices are running or still queued.
                Content = OpenAiSdkTests.Json(new { messages = new[] { new { role = "user", content = Starts[i] } }, max_tokens = 480, n = 8, temperature = 0, stream = true, ignore_eos = true }),
            };
            var response = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            for (int chunks = 0; chunks < 5;)
                if ((await reader.ReadLineAsync())!.StartsWith("data: ")) chunks++;
            response.Dispose();   // the client goes away mid-reply
        }).ToArray();
        await Task.WhenAll(clients);
        Assert.Equal(0, await server.MetricBecomes("sieve_running_sequences", 0));
        Assert.Equal(0, await server.Metric("sieve_kv_bytes_in_use"));
        double cancelled = await server.Metric("sieve_generations_cancelled_total") - cancelledBefore;
        Assert.True(cancelled >= 16, $"{cancelled} of 32 generations were cancelled: the clients' leaving did not end them");
        // And it serves on.
        Assert.NotEmpty(await Stream("Once upon a time", 8));
    }

    [Fact]
    public async Task A_later_turn_reuses_the_cached_conversation()
    {
        var first = new List<OpenAI.Chat.ChatMessage> { new SystemChatMessage("You tell short stories about animals."), new UserChatMessage("Tell me about a fox.") };
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 24 };
        var reply = (await Chat().CompleteChatAsync(first, options)).Value;
        var second = new List<OpenAI.Chat.ChatMessage>(first) { new AssistantChatMessage(reply.Content[0].Text), new UserChatMessage("And then?") };
        var next = (await Chat().CompleteChatAsync(second, options)).Value;
        // The second prompt starts with the first one (system, user, the assistant's reply): those rows are not prefilled again.
        Assert.True(next.Usage.InputTokenDetails.CachedTokenCount >= reply.Usage.InputTokenCount,
            $"{next.Usage.InputTokenDetails.CachedTokenCount} cached of {next.Usage.InputTokenCount}; the first prompt alone was {reply.Usage.InputTokenCount}");
        Assert.True(await server.Metric("sieve_prefix_reused_tokens_total") >= reply.Usage.InputTokenCount);
    }
}
