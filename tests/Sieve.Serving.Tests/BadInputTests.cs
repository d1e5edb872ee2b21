using System.Net;
using System.Text;
using System.Text.Json;

namespace Sieve.Serving.Tests;

/// <summary>Malformed and hostile requests: each gets its status and an OpenAI-style error body, and the server keeps serving.</summary>
[Collection("server")]
public sealed class BadInputTests(ServerProcess server)
{
    const string Chat = "/v1/chat/completions", Text = "/v1/completions";
    static string User(string content = "hi") => $"{{\"role\":\"user\",\"content\":{JsonSerializer.Serialize(content)}}}";
    static string Body(string fields) => $"{{\"messages\":[{User()}]{(fields.Length > 0 ? "," + fields : "")}}}";

    public static TheoryData<string, string, string, int, string?> Cases() => new()
    {
        // name, path, body, status, param (null: not checked)
        { "not JSON", Chat, "{\"messages\": [", 400, null },
        { "empty body", Chat, "", 400, null },
        { "an array, not an object", Chat, "[1,2,3]", 400, null },
        { "messages missing", Chat, "{\"max_tokens\": 5}", 400, "messages" },
        { "messages a string", Chat, "{\"messages\": \"hello\"}", 400, "messages" },
        { "messages empty", Chat, "{\"messages\": []}", 400, "messages" },
        { "only a system message", Chat, "{\"messages\": [{\"role\":\"system\",\"content\":\"be nice\"}]}", 400, "messages" },
        { "role missing", Chat, "{\"messages\": [{\"content\":\"hi\"}]}", 400, "messages[0].role" },
        { "role invalid", Chat, "{\"messages\": [{\"role\":\"wizard\",\"content\":\"hi\"}]}", 400, "messages[0].role" },
        { "tool role", Chat, "{\"messages\": [{\"role\":\"tool\",\"content\":\"hi\"}]}", 400, "messages[0].role" },
        { "content a number", Chat, "{\"messages\": [{\"role\":\"user\",\"content\":42}]}", 400, "messages[0].content" },
        { "image part", Chat, "{\"messages\": [{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}}]}]}", 400, "messages[0].content[0].type" },
        { "max_tokens negative", Chat, Body("\"max_tokens\": -5"), 400, "max_tokens" },
        { "max_tokens zero", Chat, Body("\"max_tokens\": 0"), 400, "max_tokens" },
        { "max_tokens huge", Chat, Body("\"max_tokens\": 1000000000000"), 400, "max_tokens" },
        { "max_tokens beyond the context", Chat, Body("\"max_tokens\": 100000"), 400, "max_tokens" },
        { "max_tokens a string", Chat, Body("\"max_tokens\": \"ten\""), 400, "max_tokens" },
        { "max_tokens fractional", Chat, Body("\"max_tokens\": 2.5"), 400, "max_tokens" },
        { "temperature a string", Chat, Body("\"temperature\": \"hot\""), 400, "temperature" },
        { "temperature too high", Chat, Body("\"temperature\": 5"), 400, "temperature" },
        { "top_p negative", Chat, Body("\"top_p\": -0.1"), 400, "top_p" },
        { "presence_penalty out of range", Chat, Body("\"presence_penalty\": 3"), 400, "presence_penalty" },
        { "five stop strings", Chat, Body("\"stop\": [\"a\",\"b\",\"c\",\"d\",\"e\"]"), 400, "stop" },
        { "empty stop string", Chat, Body("\"stop\": \"\""), 400, "stop" },
        { "stop a number", Chat, Body("\"stop\": 7"), 400, "stop" },
        { "n too large", Chat, Body("\"n\": 100"), 400, "n" },
        { "stream not a bool", Chat, Body("\"stream\": \"yes\""), 400, "stream" },
        { "top_logprobs without logprobs", Chat, Body("\"top_logprobs\": 3"), 400, "top_logprobs" },
        { "top_logprobs too many", Chat, Body("\"logprobs\": true, \"top_logprobs\": 21"), 400, "top_logprobs" },
        { "json_schema response format", Chat, Body("\"response_format\": {\"type\":\"json_schema\",\"json_schema\":{}}"), 400, "response_format.type" },
        { "unknown model", Chat, Body("\"model\": \"gpt-4o\""), 404, "model" },
        { "sieve extension not an object", Chat, Body("\"sieve\": 5"), 400, "sieve" },
        { "sieve extension unknown field", Chat, Body("\"sieve\": {\"kvv\": \"dense\"}"), 400, "sieve.kvv" },
        { "sieve kv method unknown", Chat, Body("\"sieve\": {\"kv\": \"magic\"}"), 400, "sieve.kv" },
        { "sieve budget malformed", Chat, Body("\"sieve\": {\"kv\": \"selfindex\", \"budget\": \"lots\"}"), 400, "sieve.budget" },
        { "sieve pop every layer", Chat, Body("\"sieve\": {\"pop\": 5}"), 400, "sieve.pop" },
        { "sieve sparsity without a file", Chat, Body("\"sieve\": {\"sparsity\": true}"), 400, "sieve.sparsity" },
        { "prompt over the context", Chat, $"{{\"messages\":[{User(string.Concat(Enumerable.Repeat("Once upon a time there was a dog. ", 200)))}]}}", 400, "messages" },
        { "completion prompt missing", Text, "{\"max_tokens\": 5}", 400, "prompt" },
        { "completion token id out of range", Text, "{\"prompt\": [1, 99999]}", 400, "prompt[1]" },
        { "completion several prompts", Text, "{\"prompt\": [\"a\", \"b\"]}", 400, "prompt" },
        { "completion logprobs too many", Text, "{\"prompt\": \"a\", \"logprobs\": 6}", 400, "logprobs" },
        { "completion echo", Text, "{\"prompt\": \"a\", \"echo\": true}", 400, "echo" },
        { "deeply nested JSON", Chat, new string('[', 100) + new string(']', 100), 400, null },
        { "no such route", "/v1/embeddings", "{}", 404, null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Refused_with_status_and_openai_error(string name, string path, string body, int status, string? param)
    {
        using var response = await server.Http.PostAsync(server.BaseUrl + path, new StringContent(body, Encoding.UTF8, "application/json"));
        await AssertError(response, status, param, name);
        await ServesOn();
    }

    [Fact]
    public async Task Invalid_utf8_is_refused()
    {
        var bytes = Encoding.UTF8.GetBytes(Body("\"stop\": \"XX\"")).ToArray();
        int at = Array.IndexOf(bytes, (byte)'X');
        bytes[at] = 0xFF; bytes[at + 1] = 0xFE;   // never valid in UTF-8
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new("application/json");
        using var response = await server.Http.PostAsync(server.BaseUrl + Chat, content);
        await AssertError(response, 400, null, "invalid UTF-8");
        await ServesOn();
    }

    [Fact]
    public async Task Ten_megabyte_body_is_refused_with_413()
    {
        var huge = Body($"\"padding\": \"{new string('a', 10 << 20)}\"");
        // Expect: 100-continue, as curl sends for large bodies: the server refuses on the declared length, before the body is sent.
        using var request = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + Chat) { Content = new StringContent(huge, Encoding.UTF8, "application/json") };
        request.Headers.ExpectContinue = true;
        using var response = await server.Http.SendAsync(request);
        await AssertError(response, 413, null, "10 MB body");
        await ServesOn();
    }

    [Fact]
    public async Task Missing_and_wrong_keys_get_401_but_health_and_page_do_not()
    {
        using var anonymous = new HttpClient();
        using var missing = await anonymous.PostAsync(server.BaseUrl + Chat, new StringContent(Body("\"max_tokens\": 2"), Encoding.UTF8, "application/json"));
        await AssertError(missing, 401, null, "no key");
        using var wrong = new HttpRequestMessage(HttpMethod.Get, server.BaseUrl + "/v1/models");
        wrong.Headers.Authorization = new("Bearer", "not-the-key");
        await AssertError(await anonymous.SendAsync(wrong), 401, null, "wrong key");
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(server.BaseUrl + "/health")).StatusCode);
        var page = await anonymous.GetAsync(server.BaseUrl + "/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Unknown_openai_fields_are_ignored_as_vllm_and_llama_server_do()
    {
        // Clients send fields this server has no use for (user, store, metadata, parallel_tool_calls…): refusing them would break real clients.
        using var response = await server.Http.PostAsync(server.BaseUrl + Chat,
            new StringContent(Body("\"max_tokens\": 3, \"user\": \"u1\", \"store\": false, \"metadata\": {\"a\": \"b\"}, \"some_future_field\": [1]"), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    async Task ServesOn()
    {
        using var ok = await server.Http.PostAsync(server.BaseUrl + Chat, new StringContent(Body("\"max_tokens\": 2, \"temperature\": 0"), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    static async Task AssertError(HttpResponseMessage response, int status, string? param, string name)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"{name}: status {(int)response.StatusCode}, expected {status}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(text);
        var error = doc.RootElement.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()), name);
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("type").GetString()), name);
        Assert.True(error.TryGetProperty("code", out _), name);
        if (param != null) Assert.Equal(param, error.GetProperty("param").GetString());
    }
}
