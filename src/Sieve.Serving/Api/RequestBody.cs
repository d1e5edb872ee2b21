using System.Text.Json;

namespace Sieve.Serving.Api;

/// <summary>
/// Reads a request body as one JSON object, within a size limit checked before and while reading (a 10 MB body is
/// refused with 413 without being buffered), and refusing malformed JSON or invalid UTF-8 with a 400.
/// </summary>
static class RequestBody
{
    public static async Task<JsonDocument> ReadObject(HttpContext http, long maxBytes)
    {
        if (http.Request.ContentLength is { } declared && declared > maxBytes)
            throw TooLarge(declared, maxBytes);
        var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int n;
        while ((n = await http.Request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
        {
            if (buffer.Length + n > maxBytes) throw TooLarge(null, maxBytes);
            buffer.Write(chunk, 0, n);
        }
        if (buffer.Length == 0) throw ApiException.Invalid("the request body is empty; send a JSON object");
        // JsonDocument checks the structure but leaves string contents unchecked until read: check every byte first.
        if (!System.Text.Unicode.Utf8.IsValid(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)))
            throw ApiException.Invalid("the request body is not valid UTF-8");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException e)
        {
            throw ApiException.Invalid($"the request body is not valid JSON: {e.Message}");
        }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw ApiException.Invalid("the request body must be a JSON object");
        }
        return doc;
    }

    static ApiException TooLarge(long? declared, long max) =>
        new(413, $"the request body {(declared is { } d ? $"is {d} bytes" : "is larger than the limit")}; at most {max} bytes are accepted", "invalid_request_error", "request_too_large");
}
