using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using Sieve.Serving.Api;

namespace Sieve.Serving;

/// <summary>
/// <c>sieve serve</c>: an OpenAI-compatible HTTP server (ASP.NET Core minimal APIs on Kestrel) over one
/// <see cref="ServingModel"/>. Start it, read <see cref="Urls"/> for where it listens, dispose it to stop.
/// </summary>
public sealed class SieveServer : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly bool _ownsModel;

    public ServingModel Served { get; }

    SieveServer(WebApplication app, ServingModel served, bool ownsModel)
    {
        _app = app; Served = served; _ownsModel = ownsModel;
    }

    /// <summary>The addresses Kestrel bound (with the real port when <see cref="ServerOptions.Port"/> was 0).</summary>
    public IReadOnlyList<string> Urls => _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    /// <summary>Builds the server over a loaded model; the server disposes the model's scheduler, not the model.</summary>
    public static SieveServer Create(SieveModel model, ServerOptions options, Action<ILoggingBuilder>? logging = null) =>
        Create(new ServingModel(model, options), ownsModel: true, logging);

    public static SieveServer Create(ServingModel served, bool ownsModel = false, Action<ILoggingBuilder>? logging = null)
    {
        var options = served.Options;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (logging != null) logging(builder.Logging);
        else builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            // Bodies are bounded by RequestBody (413 with an OpenAI error); Kestrel's own limit is the backstop.
            k.Limits.MaxRequestBodySize = options.MaxBodyBytes + 1;
            k.Limits.MaxRequestHeadersTotalSize = 64 * 1024;
            k.AddServerHeader = false;
            if (options.Host is "localhost") k.ListenLocalhost(options.Port);
            else if (IPAddress.TryParse(options.Host, out var ip)) k.Listen(ip, options.Port);
            else throw new ArgumentException($"--host '{options.Host}' is not an IP address or localhost");
        });
        var app = builder.Build();
        if (options.ApiKey != null) app.Use(RequireKey(options.ApiKey, served));
        Endpoints.Map(app, served);
        return new SieveServer(app, served, ownsModel);
    }

    public Task StartAsync(CancellationToken cancel = default) => _app.StartAsync(cancel);

    public Task WaitForShutdownAsync(CancellationToken cancel = default) => _app.WaitForShutdownAsync(cancel);

    /// <summary>
    /// With an API key, every route but the chat page, its files and /health needs <c>Authorization: Bearer KEY</c>
    /// (compared in constant time); a missing or wrong key gets 401 and an OpenAI error.
    /// </summary>
    static Func<HttpContext, RequestDelegate, Task> RequireKey(string key, ServingModel served)
    {
        var expected = Encoding.UTF8.GetBytes(key);
        return async (http, next) =>
        {
            var path = http.Request.Path.Value ?? "/";
            bool open = path == "/" || path == "/health" || (http.Request.Method == "GET" && !path.StartsWith("/v1", StringComparison.Ordinal) && path.LastIndexOf('/') == 0 && path.Contains('.'));
            if (!open)
            {
                string auth = http.Request.Headers.Authorization.ToString();
                var given = auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? Encoding.UTF8.GetBytes(auth[7..].Trim()) : [];
                if (!CryptographicOperations.FixedTimeEquals(given, expected))
                {
                    await ErrorBody.Write(http, new ApiException(401, auth.Length == 0 ? "no API key: send 'Authorization: Bearer KEY'" : "the API key is wrong", "invalid_request_error", "invalid_api_key"));
                    served.Metrics.Answered("auth", 401);
                    return;
                }
            }
            await next(http);
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_ownsModel) Served.Dispose();
    }
}
