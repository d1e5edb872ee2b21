using Sieve.Formats;
using Sieve.Tokenization;

namespace Sieve.Tests.Tokenization;

/// <summary>Broken tokenizer files fail with a ModelFileException that names the file and the problem.</summary>
public class BadTokenizerFileTests
{
    static ModelFileException Fails(string path, Func<object> load)
    {
        var e = Assert.Throws<ModelFileException>(load);
        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path + ": ", e.Message);
        return e;
    }

    static string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(Fixtures.TempDir(), name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void TruncatedTok512IsReportedAtEveryLength()
    {
        var bytes = File.ReadAllBytes(Fixtures.Tok512);
        string dir = Fixtures.TempDir();
        for (int len = 0; len < bytes.Length; len += len < 64 ? 1 : 97)
        {
            string path = Path.Combine(dir, $"tok-{len}.bin");
            File.WriteAllBytes(path, bytes[..len]);
            var e = Fails(path, () => TokenizerFactory.FromLlama2c(path, 512));
            Assert.Contains("truncated", e.Problem);
        }
    }

    [Fact]
    public void CorruptTokenLengthInTok512IsReported()
    {
        var bytes = File.ReadAllBytes(Fixtures.Tok512);
        BitConverter.GetBytes(int.MaxValue).CopyTo(bytes, 4 + 4);   // length of token 0
        string path = Write("tok-corrupt.bin", bytes);
        Assert.Contains("token 0 has length", Fails(path, () => TokenizerFactory.FromLlama2c(path, 512)).Problem);
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(1 << 22)]
    [InlineData(513)]
    public void ATokenizerTooSmallForTheCheckpointsVocabularyIsRefusedBeforeAllocating(int vocabSize)
    {
        // tok512.bin holds 512 tokens; the size is checked against the file before arrays of vocabSize are made.
        var e = Fails(Fixtures.Tok512, () => TokenizerFactory.FromLlama2c(Fixtures.Tok512, vocabSize));
        Assert.Contains(vocabSize > 1 << 16 ? "room for at most" : "truncated", e.Problem);
    }

    [Fact]
    public void AnImplausiblyLongLlama2cTokenIsRefused()
    {
        var bytes = File.ReadAllBytes(Fixtures.Tok512);
        BitConverter.GetBytes(int.MaxValue).CopyTo(bytes, 0);          // max_token_length
        BitConverter.GetBytes(1 << 20).CopyTo(bytes, 4 + 4);           // length of token 0
        string path = Write("tok-long.bin", [.. bytes, .. new byte[1 << 20]]);
        Assert.Contains("not plausible", Fails(path, () => TokenizerFactory.FromLlama2c(path, 512)).Problem);
    }

    [Fact]
    public void MissingFilesAreReported()
    {
        string dir = Fixtures.TempDir();
        Fails(Path.Combine(dir, "tok.bin"), () => TokenizerFactory.FromLlama2c(Path.Combine(dir, "tok.bin"), 512));
        Fails(Path.Combine(dir, "tokenizer.json"), () => TokenizerFactory.FromHuggingFace(dir));
    }

    static string HfFolder(string tokenizerJson)
    {
        string dir = Fixtures.TempDir();
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), tokenizerJson);
        return dir;
    }

    [Fact]
    public void TruncatedTokenizerJsonIsReported()
    {
        var text = File.ReadAllText(Path.Combine(Fixtures.Gpt2Folder, "tokenizer.json"));
        foreach (int len in new[] { 0, 1, 100, text.Length / 2, text.Length - 2 })
        {
            string dir = HfFolder(text[..len]);
            var e = Fails(Path.Combine(dir, "tokenizer.json"), () => TokenizerFactory.FromHuggingFace(dir));
            Assert.Contains("not valid JSON", e.Problem);
        }
    }

    const string Bytes = "\"a\": 0, \"b\": 1, \"ab\": 2";

    [Theory]
    [InlineData("[1, 2]", "not a JSON object")]
    [InlineData("{\"version\": \"1.0\"}", "no 'model'")]
    [InlineData("{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}", "model type 'Unigram' is not supported")]
    [InlineData("{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"merges\": []}}", "no 'vocab'")]
    [InlineData("{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {" + Bytes + "}}}", "no 'merges'")]
    [InlineData("{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -3}, \"merges\": []}}", "has id -3")]
    [InlineData("{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 0}, \"merges\": []}}", "vocab id 0 is given to both")]
    [InlineData("{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 2000000000}, \"merges\": []}}", "implausibly large")]
    [InlineData("{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {" + Bytes + "}, \"merges\": [\"ab\"]}}", "merge 0 ('ab') is not two tokens")]
    [InlineData("{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {" + Bytes + "}, \"merges\": [7]}}", "merge 0 is 7")]
    [InlineData("{\"pre_tokenizer\": {\"type\": \"Metaspace\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {" + Bytes + "}, \"merges\": []}}", "pre-tokenizer 'Metaspace' is not supported")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {" + Bytes + "}, \"merges\": []}}", "is not a byte-level BPE tokenizer")]
    [InlineData("{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"([a-\"}, \"behavior\": \"Isolated\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {" + Bytes + "}, \"merges\": []}, \"decoder\": {\"type\": \"ByteLevel\"}}", "regex '([a-' is not usable")]
    [InlineData("{\"normalizer\": {\"type\": \"Lowercase\"}, \"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {" + Bytes + "}, \"merges\": []}}", "normalizer 'Lowercase' is not supported")]
    [InlineData("{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"added_tokens\": [{\"content\": \"x\"}], \"model\": {\"type\": \"BPE\", \"vocab\": {" + Bytes + "}, \"merges\": []}}", "key 'added_tokens[0].id': expected an integer id, found nothing")]
    public void MalformedTokenizerJsonIsReported(string json, string problem)
    {
        string dir = HfFolder(json);
        var e = Fails(Path.Combine(dir, "tokenizer.json"), () => TokenizerFactory.FromHuggingFace(dir));
        Assert.Contains(problem, e.Problem);
    }

    [Fact]
    public void MergeOfUnknownTokensIsReported()
    {
        string dir = HfFolder("{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {" + Bytes + "}, \"merges\": [\"x y\"]}}");
        Fails(Path.Combine(dir, "tokenizer.json"), () => TokenizerFactory.FromHuggingFace(dir));
    }

    static Dictionary<string, object> SpmMeta() => new()
    {
        [GgufTokenizerKeys.Model] = "llama",
        [GgufTokenizerKeys.Tokens] = new[] { "<unk>", "<s>", "</s>", "▁a" },
        [GgufTokenizerKeys.Scores] = new[] { 0f, 0f, 0f, -1f },
        [GgufTokenizerKeys.TokenType] = new[] { 2, 3, 3, 1 },
    };

    public static TheoryData<string, object?, string> BadMetadata => new()
    {
        { GgufTokenizerKeys.Model, null, "'tokenizer.ggml.model' is missing" },
        { GgufTokenizerKeys.Model, "bert", "tokenizer model 'bert' is not supported" },
        { GgufTokenizerKeys.Tokens, null, "'tokenizer.ggml.tokens' is missing" },
        { GgufTokenizerKeys.Tokens, new[] { 1, 2 }, "should be an array of strings" },
        { GgufTokenizerKeys.Tokens, Array.Empty<string>(), "has no tokens" },
        { GgufTokenizerKeys.Scores, new[] { 0f, 0f, 0f }, "4 tokens but 3 scores" },
        { GgufTokenizerKeys.TokenType, new[] { 2, 3, 3, 1, 1 }, "4 tokens but 5 token types" },
        { GgufTokenizerKeys.TokenType, new[] { 2, 3, 3, 42 }, "unknown token type 42" },
        { GgufTokenizerKeys.BosId, 4u, "'tokenizer.ggml.bos_token_id' 4 is out of range" },
        { GgufTokenizerKeys.EosId, "2", "should be an integer" },
        { GgufTokenizerKeys.AddBos, 1.5f, "should be a bool" },
    };

    [Theory]
    [MemberData(nameof(BadMetadata))]
    public void InconsistentGgufMetadataIsReported(string key, object? value, string problem)
    {
        var meta = SpmMeta();
        if (value == null) meta.Remove(key); else meta[key] = value;
        var e = Assert.Throws<ModelFileException>(() => TokenizerFactory.FromGgufMetadata(meta, "model.gguf"));
        Assert.Equal("model.gguf", e.FilePath);
        Assert.Contains(problem, e.Problem);
    }

    [Fact]
    public void ByteLevelGgufWithoutMergesOrWithABadMergeIsReported()
    {
        var meta = new Dictionary<string, object>
        {
            [GgufTokenizerKeys.Model] = "gpt2",
            [GgufTokenizerKeys.Tokens] = new[] { "a", "b", "ab" },
        };
        Assert.Contains("'tokenizer.ggml.merges' is missing", Assert.Throws<ModelFileException>(() => TokenizerFactory.FromGgufMetadata(meta, "m.gguf")).Problem);
        meta[GgufTokenizerKeys.Merges] = new[] { "a b", "ab" };
        Assert.Contains("merge 1 ('ab')", Assert.Throws<ModelFileException>(() => TokenizerFactory.FromGgufMetadata(meta, "m.gguf")).Problem);
    }

    [Fact]
    public void TinyHandMadeVocabulariesStillWork()
    {
        var spm = TokenizerFactory.FromGgufMetadata(SpmMeta(), "m.gguf");
        // "▁a" is a token; "b" is not and there are no byte tokens, so it falls back to <unk>.
        Assert.Equal(new[] { 1, 3, 0 }, spm.Encode("ab"));
        var bpe = TokenizerFactory.FromGgufMetadata(new Dictionary<string, object>
        {
            [GgufTokenizerKeys.Model] = "gpt2",
            [GgufTokenizerKeys.Tokens] = new[] { "a", "b", "ab" },
            [GgufTokenizerKeys.Merges] = new[] { "a b" },
        }, "m.gguf");
        Assert.Equal(new[] { 2, 0 }, bpe.Encode("aba"));
        // Characters the vocabulary cannot spell are dropped rather than crashing the encoder.
        Assert.Equal(new[] { 0 }, bpe.Encode("xaz"));
    }
}
