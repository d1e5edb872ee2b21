using Sieve.Cli.Commands;
using Sieve.Tokenization;

namespace Sieve.Tests.Cli;

/// <summary>The trimming rule of <c>sieve chat</c>, with one "token" per character of each message.</summary>
public class ChatHistoryTests
{
    static int[] Encode(IReadOnlyList<ChatMessage> messages) => new int[messages.Sum(m => m.Content.Length)];

    [Fact]
    public void OldestExchangesGoInPairsAndTheSystemPromptStays()
    {
        var h = new ChatHistory(Encode, context: 40, replyRoom: 5);
        h.AddSystem("sys");                       // 3
        Assert.Null(h.AddUser("aaaaaaaaaa").Notice);   // 13 + 5 ≤ 40
        h.AddReply("AAAAAAAAAA");                 // 23
        Assert.Null(h.AddUser("bbbbb").Notice);   // 28 + 5 ≤ 40
        h.AddReply("BBBBB");                      // 33
        var turn = h.AddUser("cccccccccc");       // 43 > 40: the a/A exchange goes → 23
        Assert.Equal(2, turn.DroppedMessages);
        Assert.Contains("dropped the oldest 2 messages", turn.Notice);
        Assert.Equal(["system", "user", "assistant", "user"], h.Messages.Select(m => m.Role));
        Assert.Equal(["sys", "bbbbb", "BBBBB", "cccccccccc"], h.Messages.Select(m => m.Content));
        Assert.Equal(23, turn.Prompt!.Length);
    }

    [Fact]
    public void ATurnThatCannotFitIsRefusedAndTheConversationKept()
    {
        var h = new ChatHistory(Encode, context: 20, replyRoom: 5);
        h.AddSystem("sys");
        h.AddUser("aaaa");
        h.AddReply("AAAA");
        var turn = h.AddUser(new string('x', 17));   // 3 + 17 = 20: no position left for a reply
        Assert.Null(turn.Prompt);
        Assert.Contains("does not fit", turn.Notice);
        Assert.Equal(["sys", "aaaa", "AAAA"], h.Messages.Select(m => m.Content));
        // Fits alone but not with room for a reply: everything else goes, and it is answered in what is left.
        var tight = h.AddUser(new string('y', 14));
        Assert.Equal(17, tight.Prompt!.Length);
        Assert.Equal(["sys", new string('y', 14)], h.Messages.Select(m => m.Content));
    }
}
