using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Sieve.Tests.LoadTest;

/// <summary>
/// A scripted OpenAI-style streaming server on a loopback TCP port, for the load tool's tests: it writes HTTP/1.1
/// by hand, streams in the chunked encoding as real servers do (so a client could drain a stream it left and keep
/// the connection: the test asserts it does not), one request per connection, so each request's fate is set by
/// the test, not by a real engine. Requests are numbered in arrival order; <see cref="Fail500"/> answers one with a 500 error body and
/// <see cref="Truncate"/> drops one connection after the headers, and
/// <see cref="NoDone"/> ends one body there properly but without <c>[DONE]</c>. Every other request streams max_tokens content
/// chunks of "t", a usage chunk and <c>[DONE]</c>, pausing <see cref="ChunkDelay"/> before each write so a client
/// that leaves early is seen as a failed write.
/// </summary>
sealed class FakeSseServer : IAsyncDisposable
{
    readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    readonly CancellationTokenSource _stop = new();
    readonly Task _accepting;
    readonly List<Task> _connections = [];
    int _arrivals;
    int _disconnects;

    public int Fail500 { get; init; } = -1;
    public int Truncate { get; init; } = -1;
    public int NoDone { get; init; } = -1;
    public TimeSpan ChunkDelay { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>Streams the client left before their end (a write failed).</summary>
    public int Disconnects => Volatile.Read(ref _disconnects);
    /// <summary>What went wrong on the server's side: unexpected exceptions, reused connections.</summary>
    public List<string> Errors { get; } = [];
    public Uri Url { get; }

    public FakeSseServer()
    {
        _listener.Start();
        Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _accepting = AcceptAsync();
    }

    async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                lock (_connections) _connections.Add(ServeAsync(client));
            }
        }
        catch (OperationCanceledException) { }
    }

    async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        try
        {
            var (path, body) = await ReadRequestAsync(stream);
            if (path == "/v1/models")
            {
                await WriteAsync(stream, Whole("200 OK", """{"object":"list","data":[{"id":"fake","object":"model"}]}"""));
                return;
            }
            int n = Interlocked.Increment(ref _arrivals) - 1;
            if (n == Fail500)
            {
                await WriteAsync(stream, Whole("500 Internal Server Error", """{"error":{"message":"injected","type":"server_error","code":500}}"""));
                return;
            }
            int maxTokens = JsonDocument.Parse(body).RootElement.GetProperty("max_tokens").GetInt32();
            await WriteAsync(stream, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
            for (int i = 0; i < maxTokens; i++)
            {
                // Before the first chunk: a planned cancel (after 1 chunk or more) can never pre-empt it.
                if (n == Truncate) return;
                if (n == NoDone) { await WriteAsync(stream, "0\r\n\r\n"); return; }
                await Task.Delay(ChunkDelay);
                await WriteAsync(stream, Chunk("""data: {"choices":[{"text":"t","index":0,"finish_reason":null}]}""" + "\n\n"));
            }
            await Task.Delay(ChunkDelay);
            await WriteAsync(stream, Chunk($$$"""data: {"choices":[{"text":"","index":0,"finish_reason":"length"}],"usage":{"completion_tokens":{{{maxTokens}}},"prompt_tokens":4}}""" + "\n\n"));
            await Task.Delay(ChunkDelay);
            await WriteAsync(stream, Chunk("data: [DONE]\n\n"));
            await Task.Delay(ChunkDelay);
            await WriteAsync(stream, "0\r\n\r\n");
            // One request per connection, as llama-server's streams: a client that sends another on it has
            // reused a connection such a server would have dropped.
            var more = new byte[64];
            int got;
            try { got = await stream.ReadAsync(more); }
            catch (IOException) { return; }   // the client reset the connection after the whole response: fine
            if (got > 0) lock (Errors) Errors.Add("a second request on one connection: " + Encoding.ASCII.GetString(more, 0, got));
        }
        catch (IOException) { Interlocked.Increment(ref _disconnects); }
        catch (Exception e) { lock (Errors) Errors.Add(e.ToString()); }
    }

    static string Whole(string status, string json) =>
        $"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(json)}\r\nConnection: close\r\n\r\n{json}";

    static string Chunk(string data) => $"{Encoding.UTF8.GetByteCount(data):x}\r\n{data}\r\n";

    static async Task WriteAsync(NetworkStream s, string text)
    {
        await s.WriteAsync(Encoding.UTF8.GetBytes(text));
        await s.FlushAsync();
    }

    /// <summary>The request line's path and the body (Content-Length bytes after the blank line).</summary>
    static async Task<(string Path, string Body)> ReadRequestAsync(NetworkStream s)
    {
        var buffer = new List<byte>();
        var one = new byte[1];
        while (!(buffer.Count >= 4 && buffer[^4] == '\r' && buffer[^3] == '\n' && buffer[^2] == '\r' && buffer[^1] == '\n'))
        {
            if (await s.ReadAsync(one) == 0) throw new IOException("client closed before the headers ended");
            buffer.Add(one[0]);
        }
        var lines = Encoding.ASCII.GetString([.. buffer]).Split("\r\n");
        string path = lines[0].Split(' ')[1];
        int length = 0;
        foreach (var line in lines)
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) length = int.Parse(line[15..].Trim());
        var body = new byte[length];
        await s.ReadExactlyAsync(body);
        return (path, Encoding.UTF8.GetString(body));
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        Task[] open;
        lock (_connections) open = [.. _connections];
        await Task.WhenAll(open);
    }
}
