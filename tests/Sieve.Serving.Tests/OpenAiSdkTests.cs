using System.ClientModel;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;

namespace Sieve.Serving.Tests;

/// <summary>The official OpenAI .NET SDK and Microsoft.Extensions.AI.OpenAI against a running <c>sieve serve</c>.</summary>
[Collection("server")]
public sealed class OpenAiSdkTests(ServerProcess server)
{
    OpenAIClientOptions Options => new() { Endpoint = new Uri(server.BaseUrl + "/v1"), NetworkTimeout = TimeSpan.FromSeconds(120) };
    ChatClient Chat(string key = ServerProcess.Key, string model = ServerProcess.ModelId) => new(model, new ApiKeyCredential(key), Options);

    static ChatCompletionOptions Greedy(int max) => new() { Temperature = 0, MaxOutputTokenCount = max };

    [Fact]
    public async Task Chat_completion_has_text_usage_and_finish_reason()
    {
        var c = (await Chat().CompleteChatAsync([new UserChatMessage("Once upon a time")], Greedy(24))).Value;
        Assert.Equal(ChatMessageRole.Assistant, c.Role);
        Assert.False(string.IsNullOrWhiteSpace(c.Content[0].Text));
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Length, c.FinishReason);
        Assert.Equal(24, c.Usage.OutputTokenCount);
        Assert.True(c.Usage.InputTokenCount > 4);
        Assert.Equal(c.Usage.InputTokenCount + c.Usage.OutputTokenCount, c.Usage.TotalTokenCount);
        Assert.Equal(ServerProcess.ModelId, c.Model);
    }

    [Fact]
    public async Task Streaming_chat_equals_the_whole_reply_and_reports_usage()
    {
        var whole = (await Chat().CompleteChatAsync([new UserChatMessage("The cat sat")], Greedy(30))).Value.Content[0].Text;
        var text = new StringBuilder();
        OpenAI.Chat.ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        int updates = 0;
        await foreach (var u in Chat().CompleteChatStreamingAsync([new UserChatMessage("The cat sat")], Greedy(30)))
        {
            updates++;
            foreach (var part in u.ContentUpdate) text.Append(part.Text);
            finish ??= u.FinishReason;
            usage ??= u.Usage;
        }
        Assert.Equal(whole, text.ToString());
        Assert.True(updates > 5, $"{updates} updates: the reply did not stream");
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Length, finish);
        Assert.NotNull(usage);   // the SDK asks for stream_options.include_usage
        Assert.Equal(30, usage!.OutputTokenCount);
    }

    [Fact]
    public async Task Stop_sequence_ends_the_reply_before_it()
    {
        var full = (await Chat().CompleteChatAsync([new UserChatMessage("Once upon a time")], Greedy(40))).Value.Content[0].Text;
        var words = full.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(words.Length > 4, full);
        string stop = words[3];
        var options = Greedy(40);
        options.StopSequences.Add(stop);
        var c = (await Chat().CompleteChatAsync([new UserChatMessage("Once upon a time")], options)).Value;
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], c.Content[0].Text);
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Stop, c.FinishReason);
    }

    [Fact]
    public async Task Seeded_sampling_repeats_and_models_are_listed()
    {
#pragma warning disable OPENAI001   // Seed is marked experimental in the SDK
        var options = new ChatCompletionOptions { Temperature = 1, MaxOutputTokenCount = 20, Seed = 42 };
#pragma warning restore OPENAI001
        var a = (await Chat().CompleteChatAsync([new UserChatMessage("Lily")], options)).Value.Content[0].Text;
        var b = (await Chat().CompleteChatAsync([new UserChatMessage("Lily")], options)).Value.Content[0].Text;
        Assert.Equal(a, b);

        var models = new OpenAIModelClient(new ApiKeyCredential(ServerProcess.Key), Options);
        var list = (await models.GetModelsAsync()).Value;
        Assert.Equal(ServerProcess.ModelId, Assert.Single(list).Id);
        Assert.Equal(ServerProcess.ModelId, (await models.GetModelAsync(ServerProcess.ModelId)).Value.Id);
    }

    [Fact]
    public async Task Sdk_sees_errors_as_statuses()
    {
        var unknown = await Assert.ThrowsAsync<ClientResultException>(() => Chat(model: "gpt-4o").CompleteChatAsync([new UserChatMessage("hi")], Greedy(4)));
        Assert.Equal(404, unknown.Status);
        var wrongKey = await Assert.ThrowsAsync<ClientResultException>(() => Chat(key: "wrong").CompleteChatAsync([new UserChatMessage("hi")], Greedy(4)));
        Assert.Equal(401, wrongKey.Status);
        var tooLong = await Assert.ThrowsAsync<ClientResultException>(() => Chat().CompleteChatAsync([new UserChatMessage(string.Concat(Enumerable.Repeat("Once upon a time there was a dog. ", 200)))], Greedy(4)));
        Assert.Equal(400, tooLong.Status);
        Assert.Contains("context", tooLong.Message);
        var temperature = await Assert.ThrowsAsync<ClientResultException>(() => Chat().CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { Temperature = 3 }));
        Assert.Equal(400, temperature.Status);
    }

    [Fact]
    public async Task Extensions_AI_client_over_the_sdk()
    {
        IChatClient ai = Chat().AsIChatClient();
        var response = await ai.GetResponseAsync("Once upon a time", new ChatOptions { Temperature = 0, MaxOutputTokens = 16 });
        Assert.False(string.IsNullOrWhiteSpace(response.Text));
        Assert.Equal(16, response.Usage?.OutputTokenCount);
        Assert.Equal(Microsoft.Extensions.AI.ChatFinishReason.Length, response.FinishReason);

        var streamed = new StringBuilder();
        await foreach (var u in ai.GetStreamingResponseAsync("Once upon a time", new ChatOptions { Temperature = 0, MaxOutputTokens = 16 }))
            streamed.Append(u.Text);
        Assert.Equal(response.Text, streamed.ToString());
    }

    [Fact]
    public async Task Text_completions_stream_and_whole()
    {
        async Task<JsonDocument> Post(object body) =>
            JsonDocument.Parse(await (await server.Http.PostAsync(server.BaseUrl + "/v1/completions", Json(body))).EnsureSuccessStatusCode().Content.ReadAsStringAsync());
        using var whole = await Post(new { model = ServerProcess.ModelId, prompt = "Once upon a time", max_tokens = 12, temperature = 0 });
        var choice = whole.RootElement.GetProperty("choices")[0];
        string text = choice.GetProperty("text").GetString()!;
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.Equal("text_completion", whole.RootElement.GetProperty("object").GetString());
        Assert.Equal(12, whole.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        // Token ids are a prompt too; the same ids as the text give the same continuation.
        using var ids = JsonDocument.Parse(await (await server.Http.PostAsync(server.BaseUrl + "/tokenize", Json(new { content = "Once upon a time", add_special = true }))).Content.ReadAsStringAsync());
        var tokens = ids.RootElement.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        using var byIds = await Post(new { prompt = tokens, max_tokens = 12, temperature = 0 });
        Assert.Equal(text, byIds.RootElement.GetProperty("choices")[0].GetProperty("text").GetString());

        var streamed = await Sse.Collect(server.Http, server.BaseUrl + "/v1/completions", new { prompt = "Once upon a time", max_tokens = 12, temperature = 0, stream = true });
        Assert.Equal(text, streamed.Text);
        Assert.True(streamed.Done);
    }

    [Fact]
    public async Task Tokenize_and_detokenize_round_trip()
    {
        using var t = JsonDocument.Parse(await (await server.Http.PostAsync(server.BaseUrl + "/tokenize", Json(new { content = "Lily and Ben went to the park." }))).Content.ReadAsStringAsync());
        var tokens = t.RootElement.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.True(tokens.Length > 5);
        using var d = JsonDocument.Parse(await (await server.Http.PostAsync(server.BaseUrl + "/detokenize", Json(new { tokens }))).Content.ReadAsStringAsync());
        Assert.Equal("Lily and Ben went to the park.", d.RootElement.GetProperty("content").GetString()!.TrimStart());
    }

    internal static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
}
