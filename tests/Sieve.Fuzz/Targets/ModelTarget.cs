using Sieve.Generation;
using Sieve.Models;
using Sieve.Threading;
using Sieve.Tokenization;

namespace Sieve.Fuzz.Targets;

/// <summary>
/// What <c>sieve run</c> and <c>sieve chat</c> do with a model path: <see cref="SieveModel.Load"/> (checkpoint,
/// tokenizer and their cross-checks), then the tokenizer on a few texts (plain, a long run of one letter for
/// backtracking pre-tokenizer regexes, non-ASCII, special-token text), a chat prompt through the chat template, and a
/// two-token generation with the default sampler chain.
/// </summary>
public static class ModelTarget
{
    /// <summary>One thread: the fuzz loop runs one input at a time and the harness must not oversubscribe the machine.</summary>
    static readonly Lazy<WorkerPool> Pool = new(() => new WorkerPool(1));

    static readonly string[] Texts =
    [
        "Once upon a time", new string('a', 32) + "c", "héllo wörld 你好 🙂 \u0000", "<s><|eot_id|> <tag> </s><unk>", "  \n\t ",
    ];

    public static void Run(string path)
    {
        using var model = SieveModel.Load(path, new SieveModelOptions { Threads = 1, MaxBatch = 16 }, Pool.Value);
        var tok = model.Tokenizer;
        foreach (var text in Texts)
        {
            tok.Decode(tok.Encode(text));
            tok.Decode(tok.Encode(text, parseSpecial: true));
        }
        string chat = ChatFormat.For(tok).Render([ChatMessage.System("Be brief."), ChatMessage.User("Hi!")]);
        tok.Encode(chat, parseSpecial: true);

        // An empty prompt is the caller's error (Generator says so); a tokenizer that drops all of Texts[0] is not
        // what this target is checking.
        var prompt = tok.Encode(Texts[0]);
        if (prompt.Length == 0) return;
        var options = new GenerationOptions { MaxTokens = 2, Sampling = new SamplingOptions { Seed = 1 } };
        foreach (var _ in model.CreateGenerator().Generate(prompt, options)) { }
    }
}
