using System.Text.Json;

namespace Sieve.LoadTest;

/// <summary>GET /v1/models: the model id the requests name (Sieve answers an unknown one with 404; llama-server
/// ignores the field).</summary>
public static class ModelList
{
    public static async Task<string> FirstIdAsync(HttpClient http, Uri baseUrl, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        using var response = await http.GetAsync(new Uri(baseUrl, "v1/models"), timeout.Token).ConfigureAwait(false);
        string body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw new InvalidDataException($"HTTP {(int)response.StatusCode}: {StreamChunk.Clip(body)}");
        using var doc = JsonDocument.Parse(body);
        if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("data", out var data)
            && data.ValueKind == JsonValueKind.Array && data.GetArrayLength() > 0
            && data[0].TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String)
            return id.GetString()!;
        throw new InvalidDataException($"no data[0].id in {StreamChunk.Clip(body)}");
    }
}
