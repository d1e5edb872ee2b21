using System.Text.Json;
using Sieve.Tokenization;

namespace Sieve.Serving.Api;

/// <summary>
/// The "prompt" of a text completion: a string (encoded with the tokenizer's BOS, as llama-server does), an array
/// of token ids (taken as given), or an array holding one string or one token array. One prompt per request:
/// OpenAI's batch of prompts is refused (send one request each; they share forward passes anyway).
/// </summary>
static class CompletionPrompt
{
    public static int[] Read(JsonFields f, TextTokenizer tokenizer, int vocab)
    {
        if (f.Element("prompt") is not { } v) throw ApiException.Invalid("'prompt' is required", "prompt");
        if (v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 1 && v[0].ValueKind is JsonValueKind.String or JsonValueKind.Array) v = v[0];
        if (v.ValueKind == JsonValueKind.String)
        {
            var tokens = tokenizer.Encode(v.GetString()!);
            if (tokens.Length == 0) throw ApiException.Invalid("'prompt' is empty (and the vocabulary adds no BOS)", "prompt");
            return tokens;
        }
        if (v.ValueKind != JsonValueKind.Array) throw ApiException.Invalid("'prompt' must be a string or an array of token ids", "prompt");
        var ids = new int[v.GetArrayLength()];
        if (ids.Length == 0) throw ApiException.Invalid("'prompt' is an empty array", "prompt");
        int i = 0;
        foreach (var e in v.EnumerateArray())
        {
            if (e.ValueKind == JsonValueKind.String || e.ValueKind == JsonValueKind.Array)
                throw ApiException.Invalid("'prompt' holds several prompts; send one per request", "prompt");
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out int id) || id < 0 || id >= vocab)
                throw ApiException.Invalid($"'prompt[{i}]' is not a token id of this model (0..{vocab - 1})", $"prompt[{i}]");
            ids[i++] = id;
        }
        return ids;
    }
}
