using System.Text;

namespace Sieve.Tokenization;

/// <summary>
/// Renders a conversation into the prompt text a chat model was trained on. We do not run the checkpoint's
/// Jinja template; like llama.cpp's built-in templates, we recognise its family from marker strings in it and
/// render that family's layout in code.
/// </summary>
/// <remarks>
/// The result never starts with BOS: encode it with <c>parseSpecial: true</c> and the tokenizer's own
/// <see cref="TextTokenizer.AddBos"/>, so BOS is added exactly once. Later turns that need a BOS in the middle
/// (Llama 2) spell it as text, which parseSpecial turns into the token.
/// </remarks>
public sealed class ChatFormat
{
    public ChatTemplateFamily Family { get; }

    public ChatFormat(ChatTemplateFamily family) => Family = family;

    /// <summary>The family whose markers appear in <paramref name="jinjaTemplate"/>; ChatML when none do or there is no template.</summary>
    public static ChatTemplateFamily Detect(string? jinjaTemplate)
    {
        if (string.IsNullOrEmpty(jinjaTemplate)) return ChatTemplateFamily.ChatML;
        bool Has(string s) => jinjaTemplate.Contains(s, StringComparison.Ordinal);
        if (Has("<|im_start|>")) return ChatTemplateFamily.ChatML;
        if (Has("<|start_header_id|>")) return ChatTemplateFamily.Llama3;
        if (Has("<start_of_turn>")) return ChatTemplateFamily.Gemma;
        if (Has("<|user|>") && Has("<|end|>")) return ChatTemplateFamily.Phi3;
        if (Has("[INST]")) return Has("<<SYS>>") ? ChatTemplateFamily.Llama2 : ChatTemplateFamily.Mistral;
        return ChatTemplateFamily.ChatML;
    }

    /// <summary>The format for a tokenizer's checkpoint, or the named family when <paramref name="overrideName"/> is given.</summary>
    public static ChatFormat For(TextTokenizer tokenizer, string? overrideName = null)
        => overrideName != null ? FromName(overrideName) : new ChatFormat(Detect(tokenizer.ChatTemplate));

    /// <summary>By name, case-insensitive: chatml (or qwen), llama3, llama2, mistral, gemma, phi3.</summary>
    public static ChatFormat FromName(string name) => new(name.Trim().ToLowerInvariant().Replace("-", "").Replace("_", "") switch
    {
        "chatml" or "qwen" or "qwen2" => ChatTemplateFamily.ChatML,
        "llama3" => ChatTemplateFamily.Llama3,
        "llama2" => ChatTemplateFamily.Llama2,
        "mistral" => ChatTemplateFamily.Mistral,
        "gemma" => ChatTemplateFamily.Gemma,
        "phi3" => ChatTemplateFamily.Phi3,
        _ => throw new ArgumentException($"unknown chat template '{name}' (chatml, llama3, llama2, mistral, gemma, phi3 are known)", nameof(name)),
    });

    /// <param name="addGenerationPrompt">End with the opening of an assistant turn, for the model to continue.</param>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true)
    {
        var sb = new StringBuilder();
        switch (Family)
        {
            case ChatTemplateFamily.ChatML:
                foreach (var m in messages) sb.Append("<|im_start|>").Append(m.Role).Append('\n').Append(m.Content).Append("<|im_end|>\n");
                if (addGenerationPrompt) sb.Append("<|im_start|>assistant\n");
                break;

            case ChatTemplateFamily.Llama3:
                foreach (var m in messages)
                    sb.Append("<|start_header_id|>").Append(m.Role).Append("<|end_header_id|>\n\n").Append(m.Content.Trim()).Append("<|eot_id|>");
                if (addGenerationPrompt) sb.Append("<|start_header_id|>assistant<|end_header_id|>\n\n");
                break;

            case ChatTemplateFamily.Phi3:
                foreach (var m in messages) sb.Append("<|").Append(m.Role).Append("|>\n").Append(m.Content).Append("<|end|>\n");
                if (addGenerationPrompt) sb.Append("<|assistant|>\n");
                break;

            case ChatTemplateFamily.Gemma:
                // Gemma has no system role: Gemma 3's template puts the system text, untrimmed, and "\n\n" before
                // the first turn's trimmed text. The assistant is "model".
                var gemmaSystem = string.Join("\n\n", messages.Where(m => m.Role == "system").Select(m => m.Content));
                bool firstTurn = true;
                foreach (var m in messages.Where(m => m.Role != "system"))
                {
                    sb.Append("<start_of_turn>").Append(m.Role == "assistant" ? "model" : m.Role).Append('\n');
                    if (firstTurn && gemmaSystem.Length > 0) sb.Append(gemmaSystem).Append("\n\n");
                    sb.Append(m.Content.Trim()).Append("<end_of_turn>\n");
                    firstTurn = false;
                }
                // System text alone (the template would drop it): keep it as the user's turn.
                if (firstTurn && gemmaSystem.Length > 0) sb.Append("<start_of_turn>user\n").Append(gemmaSystem.Trim()).Append("<end_of_turn>\n");
                if (addGenerationPrompt) sb.Append("<start_of_turn>model\n");
                break;

            case ChatTemplateFamily.Llama2:
            case ChatTemplateFamily.Mistral:
                RenderInst(sb, messages);
                break;
        }
        return sb.ToString();
    }

    /// <summary>
    /// The [INST] families. Llama 2: "[INST] &lt;&lt;SYS&gt;&gt;\n{system}\n&lt;&lt;/SYS&gt;&gt;\n\n{user} [/INST] {answer} &lt;/s&gt;&lt;s&gt;[INST] ...".
    /// Mistral: "[INST] {system}\n\n{user} [/INST]{answer}&lt;/s&gt;[INST] ...". Either way the prompt already ends
    /// where the answer starts, so addGenerationPrompt adds nothing.
    /// </summary>
    void RenderInst(StringBuilder sb, IReadOnlyList<ChatMessage> messages)
    {
        bool llama2 = Family == ChatTemplateFamily.Llama2;
        var turns = llama2
            ? FoldSystemIntoFirstUser(messages, null, s => $"<<SYS>>\n{s}\n<</SYS>>\n\n")
            : FoldSystemIntoFirstUser(messages, "\n\n");
        bool firstUser = true;
        foreach (var m in turns)
        {
            if (m.Role == "assistant")
            {
                sb.Append(llama2 ? " " + m.Content.Trim() + " </s>" : m.Content.Trim() + "</s>");
                continue;
            }
            if (!firstUser && llama2) sb.Append("<s>");
            firstUser = false;
            sb.Append("[INST] ").Append(m.Content.Trim()).Append(" [/INST]");
        }
    }

    /// <summary>Folds system messages into the first user message, for layouts without a system role.</summary>
    static List<ChatMessage> FoldSystemIntoFirstUser(IReadOnlyList<ChatMessage> messages, string? separator, Func<string, string>? wrap = null)
    {
        var system = string.Join("\n\n", messages.Where(m => m.Role == "system").Select(m => m.Content.Trim()));
        var rest = messages.Where(m => m.Role != "system").ToList();
        if (system.Length == 0) return rest;
        string prefix = wrap != null ? wrap(system) : system + separator;
        int firstUser = rest.FindIndex(m => m.Role == "user");
        if (firstUser < 0) rest.Insert(0, new ChatMessage("user", prefix.TrimEnd()));
        else rest[firstUser] = rest[firstUser] with { Content = prefix + rest[firstUser].Content.Trim() };
        return rest;
    }
}
