using System.Text;
using System.Text.Json;
using Sieve.Formats;
using Sieve.Formats.Gguf;
using Sieve.Tokenization;

namespace Sieve.Tests.Tokenization;

/// <summary>
/// A Llama 2 style Hugging Face tokenizer folder (SentencePiece BPE as tokenizer.json: byte_fallback, '▁',
/// Metaspace or Prepend/Replace, ranked merges, &lt;unk&gt;/&lt;s&gt;/&lt;/s&gt; added tokens) built from the real Llama 2
/// vocabulary in ggml-vocab-llama-spm.gguf, and checked against llama.cpp's 46 test vectors for that vocabulary.
/// </summary>
/// <remarks>
/// The folder is written here the way Hugging Face's converter would write it for a SentencePiece BPE model:
/// vocab = token → id; merges = one per non-byte, non-special piece of two or more code points, its best split
/// into two vocabulary pieces, ordered by the piece's SentencePiece score (higher first, then lower id), which is
/// how SentencePiece BPE ranks its merges.
/// </remarks>
public class HfSentencePieceTokenizerJsonTests
{
    const string Llama2ChatTemplate = "{% for message in messages %}{% if message['role'] == 'system' %}{{ '<<SYS>>\\n' + message['content'] + '\\n<</SYS>>\\n\\n' }}{% elif message['role'] == 'user' %}{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + ' ' + eos_token }}{% endif %}{% endfor %}";

    sealed record SpmVocab(string[] Tokens, float[] Scores, TokenType[] Types);

    static readonly Lazy<SpmVocab> Gguf = new(() =>
    {
        using var g = GgufFile.Open(Fixtures.Vocab("llama-spm"));
        var tokens = (string[])g.Metadata[GgufTokenizerKeys.Tokens];
        var scores = (float[])g.Metadata[GgufTokenizerKeys.Scores];
        var types = g.Metadata[GgufTokenizerKeys.TokenType] switch
        {
            int[] i => i.Select(x => (TokenType)x).ToArray(),
            uint[] u => u.Select(x => (TokenType)x).ToArray(),
            var other => throw new InvalidOperationException($"token_type is {other.GetType()}"),
        };
        return new SpmVocab(tokens, scores, types);
    });

    static readonly Lazy<TextTokenizer> GgufTokenizer = new(() => SentencePieceVectorTests.Load("llama-spm"));

    /// <summary>The merges Hugging Face's converter would list, best first, and the pieces that have no two-piece split.</summary>
    static readonly Lazy<(List<(string A, string B)> Merges, List<string> NoSplit)> Merges = new(() =>
    {
        var v = Gguf.Value;
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < v.Tokens.Length; i++) ids[v.Tokens[i]] = i;
        var found = new List<(float Score, int Id, string A, string B)>();
        var noSplit = new List<string>();
        for (int i = 0; i < v.Tokens.Length; i++)
        {
            string t = v.Tokens[i];
            if (v.Types[i] != TokenType.Normal || CodePoints(t) < 2) continue;
            (string A, string B)? best = null;
            float bestKey = float.NegativeInfinity;
            for (int k = 1; k < t.Length; k++)
            {
                if (char.IsLowSurrogate(t[k])) continue;   // split only between code points
                string a = t[..k], b = t[k..];
                if (!ids.TryGetValue(a, out int ia) || !ids.TryGetValue(b, out int ib)) continue;
                if (v.Types[ia] != TokenType.Normal || v.Types[ib] != TokenType.Normal) continue;
                // The best split: the one whose later-learnt half was learnt earliest (leftmost on ties).
                float key = Math.Min(v.Scores[ia], v.Scores[ib]);
                if (best == null || key > bestKey) (best, bestKey) = ((a, b), key);
            }
            if (best is { } s) found.Add((v.Scores[i], i, s.A, s.B));
            else noSplit.Add(t);
        }
        var ordered = found.OrderByDescending(m => m.Score).ThenBy(m => m.Id).Select(m => (m.A, m.B)).ToList();
        return (ordered, noSplit);
    });

    static int CodePoints(string s) => s.EnumerateRunes().Count();

    /// <summary>
    /// How the file turns spaces into '▁'. GemmaReplaceSplit is Gemma 3's tokenizer.json: a lone Replace(' ' → '▁')
    /// normalizer (no dummy prefix) and a Split on ' ' that never fires, since it sees the normalized text.
    /// </summary>
    public enum Layout { MetaspacePairs, PrependReplaceStrings, GemmaReplaceSplit }

    /// <summary>tokenizer.json for the Llama 2 vocabulary in one of the two layouts transformers has written.</summary>
    static string TokenizerJson(Layout layout)
    {
        var v = Gguf.Value;
        var vocab = new Dictionary<string, int>(v.Tokens.Length);
        for (int i = 0; i < v.Tokens.Length; i++) vocab.Add(v.Tokens[i], i);
        var merges = Merges.Value.Merges;
        object mergeList = layout == Layout.MetaspacePairs
            ? merges.Select(m => new[] { m.A, m.B }).ToArray()
            : merges.Select(m => m.A + " " + m.B).ToArray();
        var special = new[] { (0, "<unk>"), (1, "<s>"), (2, "</s>") };
        var json = new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = special.Select(s => new { id = s.Item1, content = s.Item2, single_word = false, lstrip = false, rstrip = false, normalized = false, special = true }),
            ["normalizer"] = layout == Layout.PrependReplaceStrings
                ? new
                {
                    type = "Sequence",
                    normalizers = new object[]
                    {
                        new { type = "Prepend", prepend = "▁" },
                        new { type = "Replace", pattern = new { String = " " }, content = "▁" },
                    },
                }
                : layout == Layout.GemmaReplaceSplit
                    ? new { type = "Replace", pattern = new { String = " " }, content = "▁" }
                    : null,
            ["pre_tokenizer"] = layout == Layout.MetaspacePairs
                ? new { type = "Metaspace", replacement = "▁", prepend_scheme = "first", split = false }
                : layout == Layout.GemmaReplaceSplit
                    ? new { type = "Split", pattern = new { String = " " }, behavior = "MergedWithPrevious", invert = false }
                    : null,
            ["post_processor"] = new
            {
                type = "TemplateProcessing",
                single = new object[] { new { SpecialToken = new { id = "<s>", type_id = 0 } }, new { Sequence = new { id = "A", type_id = 0 } } },
                pair = new object[]
                {
                    new { SpecialToken = new { id = "<s>", type_id = 0 } }, new { Sequence = new { id = "A", type_id = 0 } },
                    new { SpecialToken = new { id = "<s>", type_id = 1 } }, new { Sequence = new { id = "B", type_id = 1 } },
                },
                special_tokens = new Dictionary<string, object> { ["<s>"] = new { id = "<s>", ids = new[] { 1 }, tokens = new[] { "<s>" } } },
            },
            ["decoder"] = new
            {
                type = "Sequence",
                decoders = new object[]
                {
                    new { type = "Replace", pattern = new { String = "▁" }, content = " " },
                    new { type = "ByteFallback" },
                    new { type = "Fuse" },
                    new { type = "Strip", content = " ", start = 1, stop = 0 },
                },
            },
            ["model"] = new Dictionary<string, object?>
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = "<unk>",
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = true,
                ["byte_fallback"] = true,
                ["ignore_merges"] = false,
                ["vocab"] = vocab,
                ["merges"] = mergeList,
            },
        };
        return JsonSerializer.Serialize(json);
    }

    static readonly Lazy<string> MetaspaceJson = new(() => TokenizerJson(Layout.MetaspacePairs));
    static readonly Lazy<string> PrependReplaceJson = new(() => TokenizerJson(Layout.PrependReplaceStrings));

    static string Folder(string tokenizerJson, object? config)
    {
        string dir = Fixtures.TempDir();
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), tokenizerJson);
        if (config != null) File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), JsonSerializer.Serialize(config));
        return dir;
    }

    static object Config(bool addBos = true, bool? addPrefixSpace = null)
    {
        var c = new Dictionary<string, object?>
        {
            ["add_bos_token"] = addBos,
            ["add_eos_token"] = false,
            ["bos_token"] = new { __type = "AddedToken", content = "<s>", lstrip = false, normalized = false, rstrip = false, single_word = false },
            ["eos_token"] = new { __type = "AddedToken", content = "</s>", lstrip = false, normalized = false, rstrip = false, single_word = false },
            ["unk_token"] = "<unk>",
            ["pad_token"] = null,
            ["legacy"] = false,
            ["model_max_length"] = 1000000000000000019884624838656.0,
            ["tokenizer_class"] = "LlamaTokenizer",
            ["chat_template"] = Llama2ChatTemplate,
        };
        if (addPrefixSpace is { } a) c["add_prefix_space"] = a;
        return c;
    }

    static readonly Lazy<TextTokenizer> Metaspace = new(() => TokenizerFactory.FromHuggingFace(Folder(MetaspaceJson.Value, Config())));
    static readonly Lazy<TextTokenizer> PrependReplace = new(() => TokenizerFactory.FromHuggingFace(Folder(PrependReplaceJson.Value, Config(addBos: false))));

    static TextTokenizer For(Layout layout) => layout == Layout.MetaspacePairs ? Metaspace.Value : PrependReplace.Value;

    [Fact]
    public void EveryMultiCharacterPieceHasAMerge()
    {
        // The construction is complete for this vocabulary: every normal piece of two or more code points splits
        // into two vocabulary pieces, so every piece llama.cpp can form has a merge rank.
        var (merges, noSplit) = Merges.Value;
        Assert.Empty(noSplit);
        Assert.True(merges.Count > 29_000, $"{merges.Count} merges");   // 32000 less 3 special, 256 byte and the single characters
    }

    [Theory]
    [InlineData(Layout.MetaspacePairs)]
    [InlineData(Layout.PrependReplaceStrings)]
    public void EncodesEveryLlamaCppVector(Layout layout)
    {
        var tok = For(layout);
        Assert.IsType<SentencePieceTextTokenizer>(tok);
        LlamaCppVectors.AssertAll("llama-spm", text => tok.Encode(text, addBos: false, parseSpecial: false));
    }

    [Theory]
    [InlineData(Layout.MetaspacePairs)]
    [InlineData(Layout.PrependReplaceStrings)]
    public void DecodesEveryLlamaCppVectorBackToItsText(Layout layout)
    {
        var tok = For(layout);
        foreach (var (text, ids) in LlamaCppVectors.Load("llama-spm"))
        {
            Assert.Equal(text, tok.Decode(ids));
            Assert.Equal(text, tok.Decode(tok.Encode(text)));   // with BOS where the config adds it
        }
    }

    [Fact]
    public void SpecialIdsTypesAndBosFollowTheFolder()
    {
        var tok = Metaspace.Value;
        Assert.Equal((32000, 1, 2, 0, true, false), (tok.VocabSize, tok.BosId, tok.EosId, tok.UnknownId, tok.AddBos, tok.AddEos));
        Assert.True(tok.StripLeadingSpace);
        Assert.Equal(new[] { 2 }, tok.EndOfGenerationIds.Order());
        Assert.Equal(new[] { 1, 15043, 3186 }, tok.Encode("Hello world"));
        Assert.Equal(new[] { 15043, 3186 }, tok.Encode("Hello world", addBos: false));
        Assert.Equal(Llama2ChatTemplate, tok.ChatTemplate);
        Assert.Equal(ChatTemplateFamily.Llama2, ChatFormat.For(tok).Family);

        // Every token has the type llama.cpp gives it in the GGUF (Unknown, Control, Byte, Normal).
        var gguf = GgufTokenizer.Value;
        for (int i = 0; i < tok.VocabSize; i++)
        {
            Assert.Equal(gguf.TokenKind(i), tok.TokenKind(i));
            Assert.Equal(gguf.TokenBytes(i).ToArray(), tok.TokenBytes(i).ToArray());
        }

        // add_bos_token false in tokenizer_config.json: no BOS.
        var noBos = PrependReplace.Value;
        Assert.False(noBos.AddBos);
        Assert.Equal(new[] { 15043, 3186 }, noBos.Encode("Hello world"));
        Assert.Equal(new[] { 1, 15043, 3186 }, noBos.Encode("Hello world", addBos: true));
    }

    [Fact]
    public void WithoutTokenizerConfigTheTemplateProcessingDecidesBos()
    {
        var tok = TokenizerFactory.FromHuggingFace(Folder(MetaspaceJson.Value, config: null));
        Assert.Equal((1, 2, 0, true), (tok.BosId, tok.EosId, tok.UnknownId, tok.AddBos));
        Assert.Equal(new[] { 1, 15043, 3186 }, tok.Encode("Hello world"));
        Assert.Null(tok.ChatTemplate);
    }

    [Fact]
    public void MergeRanksBecomeScoresThatOrderPiecesAsSentencePieceDoes()
    {
        var v = Gguf.Value;
        var vocab = ((SentencePieceTextTokenizer)Metaspace.Value).Vocabulary;
        var merged = Enumerable.Range(0, v.Tokens.Length).Where(i => vocab.ScoreOf(i) > HuggingFaceTokenizerLoader.UnmergedScore).ToArray();
        Assert.Equal(Merges.Value.Merges.Count, merged.Length);
        // Higher rank-derived score ⇔ higher SentencePiece score (lower id on ties), for every merged piece.
        var byOurs = merged.OrderByDescending(i => vocab.ScoreOf(i)).ToArray();
        var bySpm = merged.OrderByDescending(i => v.Scores[i]).ThenBy(i => i).ToArray();
        Assert.Equal(bySpm, byOurs);
        Assert.Equal(0f, vocab.ScoreOf(byOurs[0]));
        // Byte, control and unknown tokens, and single characters, are below every merge.
        foreach (int i in new[] { 0, 1, 2, 13, 3 + 0xFF, vocab.IdOf("e") })
            Assert.Equal(HuggingFaceTokenizerLoader.UnmergedScore, vocab.ScoreOf(i));
    }

    [Fact]
    public void NoDummyPrefixWhenTheFileOrConfigSaysSo()
    {
        // The GGUF vocabulary with add_space_prefix = false is the reference.
        using var g = GgufFile.Open(Fixtures.Vocab("llama-spm"));
        var meta = g.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
        meta[GgufTokenizerKeys.AddSpacePrefix] = false;
        var reference = TokenizerFactory.FromGgufMetadata(meta, "llama-spm without prefix");

        string never = MetaspaceJson.Value.Replace("\"prepend_scheme\":\"first\"", "\"prepend_scheme\":\"never\"");
        Assert.NotEqual(MetaspaceJson.Value, never);
        var fromScheme = TokenizerFactory.FromHuggingFace(Folder(never, Config()));
        var fromConfig = TokenizerFactory.FromHuggingFace(Folder(MetaspaceJson.Value, Config(addPrefixSpace: false)));
        foreach (var tok in new[] { fromScheme, fromConfig })
        {
            Assert.False(tok.StripLeadingSpace);
            Assert.Equal(new[] { 10994, 3186 }, tok.Encode("Hello world", addBos: false));   // "Hello", "▁world"
            foreach (var (text, _) in LlamaCppVectors.Load("llama-spm"))
                Assert.Equal(reference.Encode(text, addBos: false), tok.Encode(text, addBos: false));
        }
    }

    [Fact]
    public void GemmaLayoutAddsNoDummyPrefix()
    {
        // The GGUF vocabulary with add_space_prefix = false (what llama.cpp writes for Gemma) is the reference.
        using var g = GgufFile.Open(Fixtures.Vocab("llama-spm"));
        var meta = g.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
        meta[GgufTokenizerKeys.AddSpacePrefix] = false;
        var reference = TokenizerFactory.FromGgufMetadata(meta, "llama-spm without prefix");
        var tok = Assert.IsType<SentencePieceTextTokenizer>(TokenizerFactory.FromHuggingFace(Folder(TokenizerJson(Layout.GemmaReplaceSplit), Config())));
        Assert.False(tok.AddSpacePrefix);
        Assert.Equal(new[] { 10994, 3186 }, tok.Encode("Hello world", addBos: false));   // "Hello", "▁world"
        foreach (var (text, _) in LlamaCppVectors.Load("llama-spm"))
            Assert.Equal(reference.Encode(text, addBos: false), tok.Encode(text, addBos: false));
    }

    [Fact]
    public void SpecialTokensAreTextUnlessParseSpecialAsInLlamaCpp()
    {
        var tok = Metaspace.Value;
        var gguf = GgufTokenizer.Value;
        foreach (var text in new[] { "a</s>b", "<s>[INST] Hi [/INST]", "x <unk> y" })
            foreach (bool parse in new[] { false, true })
                Assert.Equal(gguf.Encode(text, addBos: false, parseSpecial: parse), tok.Encode(text, addBos: false, parseSpecial: parse));
        Assert.Equal(new[] { 263, 2, 289 }, tok.Encode("a</s>b", addBos: false, parseSpecial: true));
    }

    [Fact]
    public void WritesGgufMetadataThatLoadsToTheSameEncoder()
    {
        var tok = Metaspace.Value;
        var back = TokenizerFactory.FromGgufMetadata(tok.ToGgufMetadata(), "round trip");
        Assert.Equal((tok.BosId, tok.EosId, tok.UnknownId, tok.AddBos), (back.BosId, back.EosId, back.UnknownId, back.AddBos));
        LlamaCppVectors.AssertAll("llama-spm", text => back.Encode(text, addBos: false));
    }

    const string Vocab = "\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2, \"▁\": 3, \"a\": 4, \"▁a\": 5";
    const string Meta = "\"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"▁\", \"prepend_scheme\": \"first\", \"split\": false}";

    [Theory]
    [InlineData("{" + Meta + ", \"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {" + Vocab + "}, \"merges\": [[\"▁\", \"b\"]]}}", "needs 'b', which is not in the vocabulary")]
    [InlineData("{" + Meta + ", \"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {" + Vocab + "}, \"merges\": [\"a ▁\"]}}", "needs 'a▁', which is not in the vocabulary")]
    [InlineData("{" + Meta + ", \"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {" + Vocab + "}, \"merges\": [\"▁a\"]}}", "merge 0 ('▁a') is not two tokens")]
    [InlineData("{" + Meta + ", \"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {" + Vocab + "}, \"merges\": [[\"▁\"]]}}", "merge 0 is")]
    [InlineData("{" + Meta + ", \"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {" + Vocab + "}}}", "no 'merges'")]
    [InlineData("{" + Meta + ", \"model\": {\"type\": \"BPE\", \"byte_fallback\": false, \"vocab\": {" + Vocab + "}, \"merges\": []}}", "byte_fallback is not true")]
    [InlineData("{\"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"▁\", \"prepend_scheme\": \"first\"}, \"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {" + Vocab + "}, \"merges\": []}}", "split = true")]
    [InlineData("{\"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"▁\", \"prepend_scheme\": \"sometimes\", \"split\": false}, \"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {" + Vocab + "}, \"merges\": []}}", "prepend_scheme 'sometimes'")]
    [InlineData("{\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Prepend\", \"prepend\": \"▁\"}, {\"type\": \"Lowercase\"}]}, \"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {" + Vocab + "}, \"merges\": []}}", "normalizer 'Lowercase' is not supported for a SentencePiece-style tokenizer")]
    [InlineData("{\"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"_\"}, \"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {" + Vocab + "}, \"merges\": []}}", "Replace normalizer")]
    [InlineData("{\"decoder\": {\"type\": \"ByteFallback\"}, \"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {" + Vocab + "}, \"merges\": []}}", "nothing turns ' ' into '▁'")]
    [InlineData("{" + Meta + ", \"normalizer\": {\"type\": \"Prepend\", \"prepend\": \"▁\"}, \"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {" + Vocab + "}, \"merges\": []}}", "doubled dummy prefix")]
    [InlineData("{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"String\": \" \"}, \"behavior\": \"MergedWithPrevious\"}, \"decoder\": {\"type\": \"ByteFallback\"}, \"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {" + Vocab + "}, \"merges\": []}}", "pre-tokenizer 'Split' is not supported")]
    [InlineData("{\"pre_tokenizer\": {\"type\": \"Whitespace\"}, \"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {" + Vocab + "}, \"merges\": []}}", "pre-tokenizer 'Whitespace' is not supported")]
    [InlineData("{" + Meta + ", \"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {\"a\": -1}, \"merges\": []}}", "has id -1")]
    public void MalformedSentencePieceStyleFileIsReported(string json, string problem)
    {
        string dir = Folder(json, null);
        string path = Path.Combine(dir, "tokenizer.json");
        var e = Assert.Throws<ModelFileException>(() => TokenizerFactory.FromHuggingFace(dir));
        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(problem, e.Problem);
    }

    [Fact]
    public void TheSmallFileOfTheseCasesLoadsWhenWellFormed()
    {
        // The same skeleton as the malformed cases, well-formed, so those fail for the reason they name.
        string json = "{" + Meta + ", \"added_tokens\": [{\"id\": 0, \"content\": \"<unk>\", \"special\": true}, {\"id\": 1, \"content\": \"<s>\", \"special\": true}, {\"id\": 2, \"content\": \"</s>\", \"special\": true}], "
            + "\"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"unk_token\": \"<unk>\", \"vocab\": {" + Vocab + "}, \"merges\": [[\"▁\", \"a\"]]}}";
        var tok = TokenizerFactory.FromHuggingFace(Folder(json, null));
        Assert.Equal((1, 2, 0, true), (tok.BosId, tok.EosId, tok.UnknownId, tok.AddBos));
        Assert.Equal(new[] { 1, 5, 5, 4 }, tok.Encode("a aa"));   // ▁a ▁a a
        // No <0xNN> tokens in this vocabulary: each UTF-8 byte of 'é' falls back to <unk>, as in llama.cpp.
        Assert.Equal(new[] { 5, 0, 0 }, tok.Encode("aé", addBos: false));
    }

    [Fact]
    public void TruncatedLlamaTokenizerJsonIsReported()
    {
        string text = MetaspaceJson.Value;
        foreach (int len in new[] { 10, text.Length / 2, text.Length - 1 })
        {
            string dir = Folder(text[..len], Config());
            string path = Path.Combine(dir, "tokenizer.json");
            var e = Assert.Throws<ModelFileException>(() => TokenizerFactory.FromHuggingFace(dir));
            Assert.Equal(path, e.FilePath);
            Assert.Contains("not valid JSON", e.Problem);
        }
    }
}
