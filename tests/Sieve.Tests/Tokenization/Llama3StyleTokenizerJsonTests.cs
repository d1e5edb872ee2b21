using System.Text.Json;
using Sieve.Tokenization;

namespace Sieve.Tests.Tokenization;

/// <summary>
/// A hand-made tokenizer folder laid out like Llama 3 Instruct's (Split regex + ByteLevel, ignore_merges,
/// TemplateProcessing BOS, added special tokens, generation_config EOS list), small enough to reason about.
/// </summary>
public class Llama3StyleTokenizerJsonTests
{
    const int BeginOfText = 300, EndOfText = 301, StartHeader = 302, EndHeader = 303, EotId = 304, Tag = 305;

    static readonly Lazy<(string Folder, Dictionary<string, int> Vocab)> Folder = new(Build);

    static (string, Dictionary<string, int>) Build()
    {
        var vocab = new Dictionary<string, int>();
        for (int b = 0; b < 256; b++) vocab[ByteLevelAlphabet.Encode((byte)b).ToString()] = b;
        // Byte b is id b, so ASCII text encodes to its character codes. Merges reach "Ġw", "or", "ld";
        // "Ġworld" is a token no merge sequence builds.
        string[] merges = ["Ġ w", "o r", "l d"];
        vocab["Ġw"] = 256; vocab["or"] = 257; vocab["ld"] = 258; vocab["Ġworld"] = 259;
        var added = new (int Id, string Text, bool Special)[]
        {
            (BeginOfText, "<|begin_of_text|>", true), (EndOfText, "<|end_of_text|>", true),
            (StartHeader, "<|start_header_id|>", true), (EndHeader, "<|end_header_id|>", true),
            (EotId, "<|eot_id|>", true), (Tag, "<tag>", false),
        };
        var json = new
        {
            version = "1.0",
            added_tokens = added.Select(a => new { id = a.Id, content = a.Text, single_word = false, lstrip = false, rstrip = false, normalized = false, special = a.Special }),
            normalizer = (object?)null,
            pre_tokenizer = new
            {
                type = "Sequence",
                pretokenizers = new object[]
                {
                    new { type = "Split", pattern = new { Regex = PreTokenizer.Llama3Original }, behavior = "Isolated", invert = false },
                    new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = false },
                },
            },
            post_processor = new
            {
                type = "Sequence",
                processors = new object[]
                {
                    new { type = "ByteLevel", add_prefix_space = true, trim_offsets = false, use_regex = true },
                    new { type = "TemplateProcessing", single = new object[] { new { SpecialToken = new { id = "<|begin_of_text|>", type_id = 0 } }, new { Sequence = new { id = "A", type_id = 0 } } } },
                },
            },
            decoder = new { type = "ByteLevel" },
            model = new { type = "BPE", ignore_merges = true, vocab, merges = merges.Select(m => m.Split(' ')) },
        };
        string dir = Fixtures.TempDir();
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), JsonSerializer.Serialize(json));
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), JsonSerializer.Serialize(new
        {
            bos_token = "<|begin_of_text|>",
            eos_token = new { content = "<|eot_id|>", special = true },
            chat_template = "{{ bos_token }}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n' + m['content'] + '<|eot_id|>' }}{% endfor %}",
        }));
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), "{\"bos_token_id\": 300, \"eos_token_id\": [301, 304]}");
        return (dir, vocab);
    }

    static TextTokenizer Load() => TokenizerFactory.FromHuggingFace(Folder.Value.Folder);

    [Fact]
    public void ReadsSpecialTokensFlagsAndTemplate()
    {
        var tok = Load();
        Assert.Equal(306, tok.VocabSize);
        Assert.Equal((BeginOfText, EotId, true, false), (tok.BosId, tok.EosId, tok.AddBos, tok.AddEos));
        Assert.Equal(new[] { EndOfText, EotId }, tok.EndOfGenerationIds.Order());
        Assert.Equal(TokenType.Control, tok.TokenKind(EotId));
        Assert.Equal(TokenType.UserDefined, tok.TokenKind(Tag));
        Assert.Equal(ChatTemplateFamily.Llama3, ChatFormat.For(tok).Family);
        var meta = tok.ToGgufMetadata();
        Assert.Equal("llama-bpe", meta[GgufTokenizerKeys.Pre]);
    }

    [Fact]
    public void AWordThatIsATokenIsNotMerged()
    {
        var tok = Load();
        Assert.Equal(new[] { BeginOfText, 259 }, tok.Encode(" world"));   // ignore_merges: "Ġworld" directly
        Assert.Equal(new[] { 256, 257, 258, 'x' }, tok.Encode(" worldx", addBos: false));
        var rebuilt = TokenizerFactory.FromGgufMetadata(tok.ToGgufMetadata(), "mem");
        Assert.Equal(tok.Encode(" world worldx"), rebuilt.Encode(" world worldx"));
    }

    [Fact]
    public void UserDefinedTokensAreAlwaysSplitOutControlTokensOnlyOnRequest()
    {
        var tok = Load();
        Assert.Equal(new[] { 'a', Tag, 'b' }, tok.Encode("a<tag>b", addBos: false));
        Assert.DoesNotContain(EotId, tok.Encode("a<|eot_id|>", addBos: false));
        Assert.Equal(new[] { 'a', EotId }, tok.Encode("a<|eot_id|>", addBos: false, parseSpecial: true));
        Assert.Equal("a<tag>b", tok.Decode(tok.Encode("a<tag>b<|eot_id|>", parseSpecial: true)));
    }

    [Fact]
    public void RenderedChatEncodesToHeaderTokens()
    {
        var tok = Load();
        var prompt = ChatFormat.For(tok).Render([ChatMessage.User("a")]);
        Assert.Equal(new[] { BeginOfText, StartHeader, 'u', 's', 'e', 'r', EndHeader, '\n', '\n', 'a', EotId, StartHeader },
            tok.Encode(prompt, parseSpecial: true).Take(12));
    }
}
