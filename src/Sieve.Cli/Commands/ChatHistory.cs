using Sieve.Tokenization;

namespace Sieve.Cli.Commands;

/// <summary>
/// The conversation <c>sieve chat</c> sends each turn, kept inside the context the way llama.cpp's context shift and
/// most chat UIs keep it: when the rendered conversation and room for a reply outgrow the context, the oldest
/// user/assistant exchanges go (the system prompt stays, and turns stay paired so strict templates still alternate).
/// </summary>
sealed class ChatHistory(Func<IReadOnlyList<ChatMessage>, int[]> encode, int context, int replyRoom)
{
    readonly List<ChatMessage> _messages = [];

    public IReadOnlyList<ChatMessage> Messages => _messages;

    public void AddSystem(string text) => _messages.Add(ChatMessage.System(text));

    public void AddReply(string text) => _messages.Add(ChatMessage.Assistant(text));

    /// <summary>What came of adding a user turn: the prompt to generate from (null when the turn could not fit).</summary>
    public sealed record Turn(int[]? Prompt, int DroppedMessages, string? Notice);

    /// <summary>
    /// Adds the user's turn and returns the prompt for the reply. Oldest exchanges are dropped until the prompt leaves
    /// <paramref name="replyRoom"/> positions free (or only the system prompt and this turn are left). A turn that
    /// leaves no position for a reply even then is not added, and the conversation stays as it was.
    /// </summary>
    public Turn AddUser(string text)
    {
        var user = ChatMessage.User(text);
        int first = _messages.Count > 0 && _messages[0].Role == "system" ? 1 : 0;
        int alone = encode([.. _messages.Take(first), user]).Length;
        if (alone >= context)
        {
            string what = first == 1 ? "with the system prompt, this message" : "this message";
            return new Turn(null, 0, $"sieve chat: {what} is {alone} tokens, which does not fit the context of {context}: it was dropped (the session goes on)");
        }
        _messages.Add(user);
        int dropped = 0;
        var prompt = encode(_messages);
        while (prompt.Length + replyRoom > context && _messages.Count - first > 1)
        {
            // The oldest exchange: a user turn and the reply that followed it (a lone message if the history starts otherwise).
            int n = _messages[first].Role == "user" && _messages[first + 1].Role == "assistant" && first + 2 < _messages.Count ? 2 : 1;
            _messages.RemoveRange(first, n);
            dropped += n;
            prompt = encode(_messages);
        }
        string? notice = dropped == 0 ? null
            : $"sieve chat: the conversation outgrew the context of {context} tokens; dropped the oldest {dropped} messages" +
              (first == 1 ? " (the system prompt is kept)" : "");
        return new Turn(prompt, dropped, notice);
    }
}
