using System.Text;
using System.Text.Json;
using Sieve.Tokenization;

namespace Sieve.Serving.Api;

/// <summary>
/// The "messages" of a chat request as the engine's <see cref="ChatMessage"/> list. Roles: system (and OpenAI's
/// newer "developer", treated as system), user, assistant. Content: a string, or an array of text parts (what the
/// OpenAI SDK sends for multi-part content); image, audio and tool parts are refused, since this server has no
/// tools and the models no vision.
/// </summary>
static class ChatMessages
{
    public static List<ChatMessage> Read(JsonFields f, int maxMessages)
    {
        if (f.Element("messages") is not { } v) throw ApiException.Invalid("'messages' is required", "messages");
        if (v.ValueKind != JsonValueKind.Array) throw ApiException.Invalid("'messages' must be an array", "messages");
        int count = v.GetArrayLength();
        if (count == 0) throw ApiException.Invalid("'messages' is empty; give at least one message", "messages");
        if (count > maxMessages) throw ApiException.Invalid($"'messages' has {count} messages; at most {maxMessages} are allowed", "messages");
        var list = new List<ChatMessage>(count);
        int i = 0;
        foreach (var e in v.EnumerateArray())
        {
            string at = $"messages[{i++}]";
            var m = JsonFields.Of(e, at);
            string role = m.String("role") ?? throw ApiException.Invalid($"'{at}.role' is required", $"{at}.role");
            role = role switch
            {
                "system" or "developer" => "system",
                "user" or "assistant" => role,
                "tool" or "function" => throw ApiException.Invalid($"'{at}.role' is '{role}': this server has no tools", $"{at}.role"),
                _ => throw ApiException.Invalid($"'{at}.role' is '{role}'; it must be system, developer, user or assistant", $"{at}.role"),
            };
            if (m.Has("tool_calls")) throw ApiException.Invalid($"'{at}.tool_calls': this server has no tools", $"{at}.tool_calls");
            list.Add(new ChatMessage(role, Content(m, at)));
        }
        if (list.All(m => m.Role == "system")) throw ApiException.Invalid("'messages' has no user or assistant message", "messages");
        return list;
    }

    static string Content(JsonFields m, string at)
    {
        if (m.Element("content") is not { } c) throw ApiException.Invalid($"'{at}.content' is required", $"{at}.content");
        if (c.ValueKind == JsonValueKind.String) return c.GetString()!;
        if (c.ValueKind != JsonValueKind.Array) throw ApiException.Invalid($"'{at}.content' must be a string or an array of text parts", $"{at}.content");
        var sb = new StringBuilder();
        int j = 0;
        foreach (var part in c.EnumerateArray())
        {
            string pat = $"{at}.content[{j++}]";
            var p = JsonFields.Of(part, pat);
            string type = p.String("type") ?? throw ApiException.Invalid($"'{pat}.type' is required", $"{pat}.type");
            if (type != "text") throw ApiException.Invalid($"'{pat}.type' is '{type}': only text parts are supported", $"{pat}.type");
            sb.Append(p.String("text") ?? throw ApiException.Invalid($"'{pat}.text' is required", $"{pat}.text"));
        }
        return sb.ToString();
    }
}
