using System.Text;
using System.Text.Json;
using Sieve.Generation;
using Sieve.Tokenization;

namespace Sieve.Serving.Api;

/// <summary>
/// Log-probabilities in OpenAI's two shapes: chat's <c>{"content": [{token, logprob, bytes, top_logprobs}]}</c> and
/// the legacy completions' <c>{tokens, token_logprobs, top_logprobs: [{token: logprob}], text_offset}</c>. Values are
/// log_softmax of the model's raw logits (before temperature and penalties), vLLM's default. A token's text is its
/// own bytes as UTF-8 (a piece of a multi-byte character shows as U+FFFD; <c>bytes</c> has the exact bytes).
/// </summary>
static class LogprobsJson
{
    public static void Chat(Utf8JsonWriter w, TextTokenizer tokenizer, IEnumerable<GeneratedToken> tokens)
    {
        w.WriteStartObject("logprobs");
        w.WriteStartArray("content");
        foreach (var t in tokens)
        {
            if (t.Logprobs is not { } lp) continue;
            w.WriteStartObject();
            Entry(w, tokenizer, t.Id, lp.Logprob);
            w.WriteStartArray("top_logprobs");
            foreach (var alt in lp.Top)
            {
                w.WriteStartObject();
                Entry(w, tokenizer, alt.Id, alt.Logprob);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    static void Entry(Utf8JsonWriter w, TextTokenizer tokenizer, int id, float logprob)
    {
        var bytes = tokenizer.TokenBytes(id);
        w.WriteString("token", Encoding.UTF8.GetString(bytes));
        w.WriteNumber("logprob", logprob);
        w.WriteStartArray("bytes");
        foreach (byte b in bytes) w.WriteNumberValue(b);
        w.WriteEndArray();
    }

    /// <param name="offset">Characters of text before these tokens in the choice (text_offset counts from there).</param>
    public static void Completion(Utf8JsonWriter w, TextTokenizer tokenizer, IReadOnlyList<GeneratedToken> tokens, int offset)
    {
        var withLp = tokens.Where(t => t.Logprobs != null).ToList();
        w.WriteStartObject("logprobs");
        w.WriteStartArray("tokens");
        foreach (var t in withLp) w.WriteStringValue(Encoding.UTF8.GetString(tokenizer.TokenBytes(t.Id)));
        w.WriteEndArray();
        w.WriteStartArray("token_logprobs");
        foreach (var t in withLp) w.WriteNumberValue(t.Logprobs!.Logprob);
        w.WriteEndArray();
        w.WriteStartArray("top_logprobs");
        foreach (var t in withLp)
        {
            w.WriteStartObject();
            foreach (var alt in t.Logprobs!.Top)
            {
                string key = Encoding.UTF8.GetString(tokenizer.TokenBytes(alt.Id));
                w.WritePropertyName(key);
                w.WriteNumberValue(alt.Logprob);
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("text_offset");
        int at = offset;
        foreach (var t in tokens)
        {
            if (t.Logprobs != null) w.WriteNumberValue(at);
            at += t.Text.Length;
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
