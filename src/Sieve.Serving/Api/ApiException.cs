namespace Sieve.Serving.Api;

/// <summary>
/// A request the server refuses, as OpenAI's API reports it: an HTTP status and an error body
/// <c>{"error": {"message", "type", "code", "param"}}</c>. Thrown anywhere while a request is read or checked;
/// the endpoint filter turns it into the response.
/// </summary>
public sealed class ApiException(int status, string message, string type = "invalid_request_error", string? code = null, string? param = null) : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;
    public string? Code { get; } = code;
    public string? Param { get; } = param;

    /// <summary>Seconds a client should wait before retrying (503/429); sent as Retry-After.</summary>
    public int? RetryAfterSeconds { get; init; }

    public static ApiException Invalid(string message, string? param = null, string? code = null) => new(400, message, "invalid_request_error", code, param);
}
