using System.Reflection;

namespace Sieve.Serving;

/// <summary>The chat page: files embedded in this assembly from wwwroot/, served at / and /{name} (no build step, nothing fetched).</summary>
static class StaticPages
{
    static readonly Assembly Self = typeof(StaticPages).Assembly;

    public static void Map(WebApplication app)
    {
        app.MapGet("/", (HttpContext http) => Serve(http, "index.html"));
        app.MapGet("/{name}", (HttpContext http, string name) => Serve(http, name));
    }

    static async Task Serve(HttpContext http, string name)
    {
        // Only plain names of the embedded files: no path, so nothing outside wwwroot/ can be asked for.
        bool plain = name.Length < 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_') && !name.StartsWith('.');
        using var stream = plain ? Self.GetManifestResourceStream("wwwroot/" + name) : null;
        if (stream == null)
        {
            http.Response.StatusCode = 404;
            await Api.ErrorBody.Write(http, new Api.ApiException(404, $"no file {name}", "invalid_request_error", "not_found"));
            return;
        }
        http.Response.ContentType = Path.GetExtension(name) switch
        {
            ".html" => "text/html; charset=utf-8",
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            ".svg" => "image/svg+xml",
            ".png" => "image/png",
            _ => "application/octet-stream",
        };
        http.Response.Headers.CacheControl = "no-cache";
        await stream.CopyToAsync(http.Response.Body, http.RequestAborted);
    }
}
