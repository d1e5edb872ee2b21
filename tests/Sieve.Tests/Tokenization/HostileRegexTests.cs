using System.Text.Json;
using Sieve.Formats;
using Sieve.Tokenization;

namespace Sieve.Tests.Tokenization;

/// <summary>
/// A pre-tokenizer regex from tokenizer.json cannot stall encoding: a catastrophically backtracking pattern is
/// rescued by the linear-time engine, or, when it needs backtracking (a lookahead), refused with an error that
/// names the file and the pattern; an invalid one is refused at load.
/// </summary>
public class HostileRegexTests
{
    /// <summary>Generous: the guard answers in about one match timeout (1 s); the unguarded engine ran for over a minute on 32 'a's.</summary>
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    static string Folder(string splitPattern)
    {
        var json = new
        {
            pre_tokenizer = new
            {
                type = "Sequence",
                pretokenizers = new object[]
                {
                    new { type = "Split", pattern = new { Regex = splitPattern }, behavior = "Isolated", invert = false },
                    new { type = "ByteLevel", add_prefix_space = false, use_regex = false },
                },
            },
            decoder = new { type = "ByteLevel" },
            model = new { type = "BPE", vocab = new Dictionary<string, int> { ["a"] = 0, ["b"] = 1, ["c"] = 2, ["aa"] = 3 }, merges = new[] { "a a" } },
        };
        string dir = Fixtures.TempDir();
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), JsonSerializer.Serialize(json));
        return dir;
    }

    static T Within<T>(Func<T> work)
    {
        var task = Task.Run(work);
        Assert.True(task.Wait(Bound), $"did not finish within {Bound.TotalSeconds} s");
        return task.Result;
    }

    [Fact]
    public void ACatastrophicSplitPatternStillEncodesInBoundedTime()
    {
        var tok = TokenizerFactory.FromHuggingFace(Folder("(a+)+b"));
        string text = new string('a', 40) + "c";
        var ids = Within(() => tok.Encode(text));
        // No "b", so the pattern never matches and the whole text is one piece: twenty "aa" merges and a "c".
        Assert.Equal(Enumerable.Repeat(3, 20).Append(2), ids);
        Assert.Equal(text, tok.Decode(ids));
    }

    [Fact]
    public void ACatastrophicPatternWithALookaheadIsRefusedNamingTheFileAndPattern()
    {
        string dir = Folder("(a+)+b(?!c)");
        var tok = TokenizerFactory.FromHuggingFace(dir);
        var e = Within(() => Assert.Throws<ModelFileException>(() => tok.Encode(new string('a', 40) + "c")));
        Assert.Equal(Path.Combine(dir, "tokenizer.json"), e.FilePath);
        Assert.Contains("'(a+)+b(?!c)'", e.Problem);
        // Text the pattern handles quickly still encodes.
        Assert.Equal([3, 1], tok.Encode("aab"));
    }

    [Theory]
    [InlineData("([a-")]
    [InlineData("a{2,1}")]
    [InlineData("\\p{NoSuchCategory}")]
    [InlineData("(?<n>a)\\k<m>")]
    public void AnInvalidPatternIsRefusedAtLoad(string pattern)
    {
        string dir = Folder(pattern);
        var e = Assert.Throws<ModelFileException>(() => TokenizerFactory.FromHuggingFace(dir));
        Assert.Equal(Path.Combine(dir, "tokenizer.json"), e.FilePath);
        Assert.Contains("is not usable", e.Problem);
    }

    [Fact]
    public void ThousandsOfSplitStepsOrAHugePatternAreRefusedAtLoad()
    {
        // Each step is compiled at load: 5000 of them would stall loading for minutes.
        var steps = Enumerable.Range(0, 5000).Select(i => new { type = "Split", pattern = new { Regex = $"x{i}" }, behavior = "Isolated", invert = false });
        string dir = Folder("a");
        var json = JsonSerializer.Serialize(new
        {
            pre_tokenizer = new { type = "Sequence", pretokenizers = steps },
            decoder = new { type = "ByteLevel" },
            model = new { type = "BPE", vocab = new Dictionary<string, int> { ["a"] = 0 }, merges = Array.Empty<string>() },
        });
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json);
        var e = Within(() => Assert.Throws<ModelFileException>(() => TokenizerFactory.FromHuggingFace(dir)));
        Assert.Contains("more than 64 regex steps", e.Problem);

        dir = Folder(string.Concat(Enumerable.Repeat("(a|b)", 100_000)));
        Assert.Contains("is not plausible", Assert.Throws<ModelFileException>(() => TokenizerFactory.FromHuggingFace(dir)).Problem);
    }

    static List<(int, int)> Split(GuardedRegex r, string text)
    {
        var pieces = new List<(int Start, int Length)>();
        r.Split(text, 0, text.Length, pieces);
        return pieces;
    }

    [Fact]
    public void TheRescueKeepsTheMatchesAfterATimeout()
    {
        var r = new GuardedRegex("(a+)+b", "tok.json", TimeSpan.FromMilliseconds(50));
        string text = new string('a', 40) + "c aab";
        // The first piece times out in the backtracking engine; the linear one then finds "aab" and keeps the rest.
        Assert.Equal([(0, 42), (42, 3)], Within(() => Split(r, text)));
        Assert.Equal([(0, 3)], Split(r, "aab"));
    }

    [Fact]
    public void KnownPatternsSplitAsTheUnguardedEngineDoes()
    {
        const string Text = "Hello world! 12345 don't\n\n  x  \t\r\n y 😀 Ünïcödé 中文 ''' 1,000.5";
        foreach (var pre in new[] { "gpt-2", "llama-bpe", "qwen2", "starcoder", "falcon", "default" })
        {
            var guarded = new PreTokenizer(PreTokenizer.PatternsFor(pre)!, "tok.json");
            var plain = PreTokenizer.PatternsFor(pre)!.Select(p => new System.Text.RegularExpressions.Regex(p)).ToArray();
            var expected = new List<(int, int)> { (0, Text.Length) };
            foreach (var regex in plain)
            {
                var next = new List<(int, int)>();
                foreach (var (s, l) in expected)
                {
                    int at = s;
                    foreach (System.Text.RegularExpressions.Match m in regex.Matches(Text.Substring(s, l)))
                    {
                        if (m.Length == 0) continue;
                        if (s + m.Index > at) next.Add((at, s + m.Index - at));
                        next.Add((s + m.Index, m.Length));
                        at = s + m.Index + m.Length;
                    }
                    if (at < s + l) next.Add((at, s + l - at));
                }
                expected = next;
            }
            Assert.Equal(expected, guarded.Split(Text, 0, Text.Length));
        }
    }
}
