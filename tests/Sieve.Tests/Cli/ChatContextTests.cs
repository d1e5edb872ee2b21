namespace Sieve.Tests.Cli;

/// <summary>
/// <c>sieve chat</c> keeps the session when the conversation outgrows the context: the oldest turns go (the system
/// prompt stays) with a notice on stderr, and a turn that cannot fit even alone is dropped with a notice.
/// </summary>
public class ChatContextTests
{
    const string Model = "models/stories260K/stories260K.gguf";
    // About 25 tokens of stories260K's vocabulary; six of them with their replies are far more than 128 positions.
    const string Turn = "Once upon a time there was a little girl named Lily who loved to play in the park with her friends";

    static string[] Chat(params string[] extra) =>
        ["chat", "-m", Model, "-c", "128", "-n", "6", "--temp", "0", "--template", "llama2", "--system", "You tell stories.", .. extra];

    static string[] Replies(string stdout) => stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void OldestTurnsAreDroppedAndTheSessionGoesOn()
    {
        const int turns = 6;
        var r = CliRunner.Run(Chat(), stdin: string.Concat(Enumerable.Repeat(Turn + "\n", turns)));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.DoesNotContain("error", r.Stderr);
        Assert.Contains("dropped the oldest", r.Stderr);
        Assert.Contains("128", r.Stderr);
        // Every turn is answered, the later ones after turns were dropped (six tokens at most: one line each).
        var replies = Replies(r.Stdout);
        Assert.Equal(turns, replies.Length);
        Assert.All(replies, x => Assert.False(string.IsNullOrWhiteSpace(x)));
    }

    [Fact]
    public void ATurnTooLongForTheContextIsDroppedAndTheSessionGoesOn()
    {
        string huge = string.Concat(Enumerable.Repeat(Turn + " ", 8));   // ~200 tokens > 128
        var r = CliRunner.Run(Chat(), stdin: $"{Turn}\n{huge}\n{Turn}\n");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("does not fit", r.Stderr);
        Assert.Equal(2, Replies(r.Stdout).Length);
        Assert.DoesNotContain("error", r.Stderr);
    }
}
