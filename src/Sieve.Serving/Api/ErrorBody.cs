using System.Text.Json;

namespace Sieve.Serving.Api;

/// <summary>Writes OpenAI-style error bodies.</summary>
static class ErrorBody
{
    public static async Task Write(HttpContext http, ApiException e)
    {
        if (http.Response.HasStarted) return;   // a streaming reply already sent its status; the stream ends instead
        http.Response.StatusCode = e.Status;
        if (e.RetryAfterSeconds is { } s) http.Response.Headers.RetryAfter = s.ToString(System.Globalization.CultureInfo.InvariantCulture);
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(Json(e), http.RequestAborted);
    }

    public static string Json(ApiException e)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, JsonOutput.Options))
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("message", e.Message);
            w.WriteString("type", e.Type);
            if (e.Param != null) w.WriteString("param", e.Param); else w.WriteNull("param");
            if (e.Code != null) w.WriteString("code", e.Code); else w.WriteNull("code");
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
