using Sieve.Generation;
using Sieve.Tokenization;
using Xunit.Abstractions;

namespace Sieve.Tests.Generation;

public class ChatPrefixReuseTests(ITestOutputHelper output)
{
    static readonly string[] Turns = ["Tell me a story about a cat.", "What did the cat eat?", "Who was its friend?", "How did it end?"];

    [Theory]
    [InlineData("chatml")]
    [InlineData("llama2")]
    public void AFourTurnChatPrefillsOnlyTheNewTokensAndRepliesAsARePrefillWould(string template)
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var format = ChatFormat.FromName(template);
        var options = new GenerationOptions { MaxTokens = 16, Sampling = SamplingOptions.Greedy, ContextLength = 512 };
        var reusing = m.CreateGenerator();
        var fresh = m.CreateGenerator();
        var sequence = reusing.CreateSequence(512);
        var messages = new List<ChatMessage>();
        int[] held = [];
        int totalPrefilled = 0, totalPrompt = 0;
        foreach (var turn in Turns)
        {
            messages.Add(ChatMessage.User(turn));
            var prompt = m.Tokenizer.Encode(format.Render(messages), parseSpecial: true);
            int shared = 0;
            while (shared < Math.Min(held.Length, prompt.Length - 1) && held[shared] == prompt[shared]) shared++;

            var reply = string.Concat(reusing.Generate(sequence, prompt, options).Select(t => t.Text));
            var stats = reusing.LastStats!;
            var again = string.Concat(fresh.Generate(prompt, options).Select(t => t.Text));

            Assert.Equal(again, reply);                                     // the same reply as re-prefilling the whole conversation
            Assert.Equal(shared, stats.CachedTokens);                       // every token the cache held and the prompt repeats is kept
            Assert.Equal(prompt.Length - shared, stats.PrefilledTokens);    // and only the rest runs
            if (held.Length > 0) Assert.True(shared >= held.Length - 16 - 2, $"{template}: only {shared} of {held.Length} cached tokens were reused");
            output.WriteLine($"{template}: prompt {prompt.Length}, cached {stats.CachedTokens} of {held.Length} held, prefilled {stats.PrefilledTokens}");
            totalPrefilled += stats.PrefilledTokens;
            totalPrompt += prompt.Length;
            held = [.. sequence.Tokens];
            messages.Add(ChatMessage.Assistant(reply.Trim()));
        }
        // Four turns re-prefilled would run every prompt whole; reusing runs little more than the new messages.
        Assert.True(totalPrefilled * 2 < totalPrompt, $"{template}: prefilled {totalPrefilled} of {totalPrompt} prompt tokens");
    }
}
