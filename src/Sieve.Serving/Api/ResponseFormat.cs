namespace Sieve.Serving.Api;

/// <summary>
/// OpenAI's response_format: "text" and "json_object" are accepted, json_object NOT enforced (no grammar-constrained
/// decoding yet: the reply is whatever the model writes, so prompt for JSON too, as OpenAI asks one to);
/// "json_schema" is refused rather than silently ignored, since a client that sends a schema relies on it.
/// </summary>
static class ResponseFormat
{
    public static void Check(JsonFields f)
    {
        if (f.Element("response_format") is not { } v) return;
        var o = JsonFields.Of(v, "response_format");
        string type = o.String("type") ?? throw ApiException.Invalid("'response_format.type' is required", "response_format.type");
        if (type is not ("text" or "json_object"))
            throw ApiException.Invalid($"'response_format.type' is '{type}'; this server accepts text and json_object (json_object is not enforced)", "response_format.type");
    }
}
