using System.Text;
using System.Text.Json;
using Sieve.Tokenization;

namespace Sieve.Fuzz.Seeds;

/// <summary>
/// Two small Hugging Face tokenizer folders written here (the real GPT-2 tokenizer.json is 2 MB, which would make
/// every input take milliseconds): a Llama 3 style byte-level BPE (Split regex + ByteLevel, TemplateProcessing BOS,
/// special added tokens, a chat template) and a Llama 2 style SentencePiece BPE (byte fallback, '▁', Prepend/Replace
/// normalizer, decoder sequence). Both fit a 320-row embedding.
/// </summary>
public static class TinyTokenizers
{
    public const int ModelVocab = 320;

    static readonly JsonSerializerOptions Options = new() { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    static byte[] Json(object o) => JsonSerializer.SerializeToUtf8Bytes(o, Options);

    /// <summary>tokenizer.json, tokenizer_config.json and generation_config.json of the byte-level BPE.</summary>
    public static Dictionary<string, byte[]> ByteLevelBpe()
    {
        var vocab = new Dictionary<string, int>();
        var alphabet = ByteLevelAlphabet();
        for (int b = 0; b < 256; b++) vocab[alphabet[b].ToString()] = b;
        string[] merges = ["Ġ t", "h e", "Ġt he", "i n", "o n", "Ġ a", "e r", "Ġ s", "o r", "a n"];
        foreach (var m in merges) vocab[m.Replace(" ", "")] = vocab.Count;
        var added = new[] { (300, "<|begin_of_text|>", true), (301, "<|end_of_text|>", true), (302, "<|eot_id|>", true), (303, "<tag>", false) };
        var tokenizer = new
        {
            version = "1.0",
            added_tokens = added.Select(a => new { id = a.Item1, content = a.Item2, single_word = false, lstrip = false, rstrip = false, normalized = false, special = a.Item3 }),
            normalizer = (object?)null,
            pre_tokenizer = new
            {
                type = "Sequence",
                pretokenizers = new object[]
                {
                    new { type = "Split", pattern = new { Regex = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+" }, behavior = "Isolated", invert = false },
                    new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = false },
                },
            },
            post_processor = new
            {
                type = "TemplateProcessing",
                single = new object[] { new { SpecialToken = new { id = "<|begin_of_text|>", type_id = 0 } }, new { Sequence = new { id = "A", type_id = 0 } } },
                special_tokens = new Dictionary<string, object> { ["<|begin_of_text|>"] = new { id = "<|begin_of_text|>", ids = new[] { 300 }, tokens = new[] { "<|begin_of_text|>" } } },
            },
            decoder = new { type = "ByteLevel", add_prefix_space = true, trim_offsets = true, use_regex = true },
            model = new { type = "BPE", dropout = (object?)null, unk_token = (object?)null, ignore_merges = true, byte_fallback = false, vocab, merges },
        };
        var config = new
        {
            bos_token = "<|begin_of_text|>",
            eos_token = new { content = "<|eot_id|>", special = true },
            chat_template = "{{ bos_token }}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n' + m['content'] + '<|eot_id|>' }}{% endfor %}",
        };
        return new()
        {
            ["tokenizer.json"] = Json(tokenizer),
            ["tokenizer_config.json"] = Json(config),
            ["generation_config.json"] = Encoding.UTF8.GetBytes("{\"bos_token_id\": 300, \"eos_token_id\": [301, 302]}"),
        };
    }

    /// <summary>
    /// GPT-2's byte-to-character table: printable Latin-1 bytes stand for themselves, the other 68 map to U+0100
    /// onwards in byte order (so a space is 'Ġ', U+0120).
    /// </summary>
    static char[] ByteLevelAlphabet()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
            map[b] = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF ? (char)b : (char)next++;
        return map;
    }

    /// <summary>tokenizer.json and tokenizer_config.json of the SentencePiece-style BPE.</summary>
    public static Dictionary<string, byte[]> SentencePieceBpe()
    {
        var vocab = new Dictionary<string, int> { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2 };
        for (int b = 0; b < 256; b++) vocab[$"<0x{b:X2}>"] = vocab.Count;
        vocab["▁"] = vocab.Count;
        foreach (char c in "abcdefghijklmnopqrstuvwxyz") vocab[c.ToString()] = vocab.Count;
        string[] merges = ["▁ t", "h e", "▁t he", "▁ a", "i n", "o n", "e r", "a n"];
        foreach (var m in merges) vocab[m.Replace(" ", "")] = vocab.Count;
        var tokenizer = new
        {
            version = "1.0",
            added_tokens = new[] { (0, "<unk>"), (1, "<s>"), (2, "</s>") }.Select(a => new { id = a.Item1, content = a.Item2, single_word = false, lstrip = false, rstrip = false, normalized = false, special = true }),
            normalizer = new
            {
                type = "Sequence",
                normalizers = new object[] { new { type = "Prepend", prepend = "▁" }, new { type = "Replace", pattern = new { String = " " }, content = "▁" } },
            },
            pre_tokenizer = (object?)null,
            post_processor = new
            {
                type = "TemplateProcessing",
                single = new object[] { new { SpecialToken = new { id = "<s>", type_id = 0 } }, new { Sequence = new { id = "A", type_id = 0 } } },
                special_tokens = new Dictionary<string, object> { ["<s>"] = new { id = "<s>", ids = new[] { 1 }, tokens = new[] { "<s>" } } },
            },
            decoder = new
            {
                type = "Sequence",
                decoders = new object[]
                {
                    new { type = "Replace", pattern = new { String = "▁" }, content = " " }, new { type = "ByteFallback" }, new { type = "Fuse" },
                    new { type = "Strip", content = " ", start = 1, stop = 0 },
                },
            },
            model = new { type = "BPE", dropout = (object?)null, unk_token = "<unk>", fuse_unk = true, byte_fallback = true, ignore_merges = false, vocab, merges },
        };
        var config = new
        {
            bos_token = "<s>", eos_token = "</s>", unk_token = "<unk>", add_bos_token = true,
            chat_template = "{% for message in messages %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ ' ' + message['content'] + ' ' + eos_token }}{% endif %}{% endfor %}",
        };
        return new() { ["tokenizer.json"] = Json(tokenizer), ["tokenizer_config.json"] = Json(config) };
    }
}
