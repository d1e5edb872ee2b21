using Sieve.Fuzz.Json;

namespace Sieve.Fuzz.Mutators;

/// <summary>
/// Mutates a Hugging Face <c>tokenizer.json</c> (or its <c>tokenizer_config.json</c> / <c>generation_config.json</c>
/// companions): the generic JSON damage, and targeted changes to what the loader trusts: vocabulary and added-token
/// ids (out of range, duplicated, 2^31-1), merges of the wrong shape, component types swapped, and pre-tokenizer
/// regexes that do not compile or backtrack catastrophically.
/// </summary>
public static class TokenizerJsonMutator
{
    static readonly string[] Types =
    [
        "BPE", "WordPiece", "Unigram", "WordLevel", "ByteLevel", "Metaspace", "Split", "Sequence", "Replace", "Prepend", "Strip", "NFC",
        "NFKC", "NFD", "Lowercase", "ByteFallback", "Fuse", "TemplateProcessing", "RobertaProcessing", "BertProcessing", "Digits",
        "Whitespace", "Punctuation", "",
    ];

    /// <summary>Patterns a model file might carry: invalid ones, catastrophic backtracking, lookarounds, huge repeats.</summary>
    static readonly string[] Regexes =
    [
        "(a+)+b", "(a|aa)+$", "(.*a){20}", "(", "[", "\\", "(?<=a)b", "(?i:\\p{L}+)", "a{1000000}", "", ".*", "\\p{Zzzz}", "(?<n>a)\\k<x>",
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", "(?=a)*", "\\1", "[\\d-z]",
    ];

    static readonly JsonMutator Json = new(new JsonWords(
        ["version", "added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder", "model", "type", "vocab", "merges",
         "id", "content", "special", "single_word", "lstrip", "rstrip", "normalized", "pattern", "Regex", "String", "behavior", "invert",
         "pretokenizers", "normalizers", "decoders", "processors", "add_prefix_space", "prepend", "replacement", "byte_fallback",
         "fuse_unk", "unk_token", "ignore_merges", "dropout", "continuing_subword_prefix", "end_of_word_suffix", "single", "pair",
         "special_tokens", "SpecialToken", "Sequence", "ids", "tokens", "bos_token", "eos_token", "chat_template", "add_bos_token",
         "add_eos_token", "added_tokens_decoder", "bos_token_id", "eos_token_id", "pad_token", "unk_token", "model_max_length"],
        [.. Types, .. Regexes, "<s>", "</s>", "<unk>", "<|endoftext|>", "<|eot_id|>", "▁", "Ġ", "Isolated", "Removed", "MergedWithPrevious",
         "Contiguous", "first", "always", "never", "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}", "{% if %}", "{{"]));

    public static byte[] Mutate(byte[] json, Random rng) => Json.Mutate(json, rng, Targeted, specialPercent: 60);

    static bool Targeted(JNode root, Random rng)
    {
        if (root is not JObject o) return false;
        var model = o["model"] as JObject;
        switch (rng.Next(6))
        {
            case 0:   // a vocabulary id
            {
                if (model?["vocab"] is not JObject vocab || vocab.Props.Count == 0) return false;
                int i = rng.Next(vocab.Props.Count);
                long.TryParse((vocab.Props[i].Value as JRaw)?.Text, out long id);
                vocab.Props[i] = new(vocab.Props[i].Key, rng.Next(3) == 0 ? vocab.Props[rng.Next(vocab.Props.Count)].Value.Clone() : new JRaw(Interesting.IntegerText(rng, id)));
                return true;
            }
            case 1:   // a merge of the wrong shape
            {
                if (model?["merges"] is not JArray merges || merges.Items.Count == 0) return false;
                int i = rng.Next(merges.Items.Count);
                merges.Items[i] = rng.Next(7) switch
                {
                    0 => JNode.String("a b c"),
                    1 => JNode.String("ab"),
                    2 => JNode.String(""),
                    3 => new JArray([JNode.String("a")]),
                    4 => new JArray([JNode.Number(1), JNode.Number(2)]),
                    5 => new JArray([JNode.String("zz"), JNode.String("qq")]),
                    _ => merges.Items[rng.Next(merges.Items.Count)].Clone(),
                };
                return true;
            }
            case 2:   // an added token's id, content or flags
            {
                if (o["added_tokens"] is not JArray added || added.Items.Count == 0 || added.Items[rng.Next(added.Items.Count)] is not JObject t) return false;
                switch (rng.Next(3))
                {
                    case 0: long.TryParse((t["id"] as JRaw)?.Text, out long id); t.Set("id", new JRaw(Interesting.IntegerText(rng, id))); break;
                    case 1: t.Set("content", rng.Next(2) == 0 ? JNode.String("") : new JRaw("null")); break;
                    default: t.Set("special", Json.RandomValue(rng)); break;
                }
                return true;
            }
            case 3:   // a component's type
            {
                var parts = new[] { "normalizer", "pre_tokenizer", "post_processor", "decoder", "model" };
                string part = parts[rng.Next(parts.Length)];
                if (o[part] is JObject c) c.Set("type", JNode.String(Types[rng.Next(Types.Length)]));
                else o.Set(part, new JObject([new("type", JNode.String(Types[rng.Next(Types.Length)]))]));
                return true;
            }
            case 4:   // a Split pre-tokenizer with a hostile pattern, alone or in a Sequence
            {
                var split = new JObject([
                    new("type", JNode.String("Split")),
                    new("pattern", new JObject([new(rng.Next(4) == 0 ? "String" : "Regex", JNode.String(Regexes[rng.Next(Regexes.Length)]))])),
                    new("behavior", JNode.String("Isolated")), new("invert", new JRaw("false"))]);
                o.Set("pre_tokenizer", rng.Next(2) == 0 ? split
                    : new JObject([new("type", JNode.String("Sequence")), new("pretokenizers", new JArray([split, new JObject([new("type", JNode.String("ByteLevel")), new("use_regex", new JRaw("false"))])]))]));
                return true;
            }
            default:  // a top-level component replaced by a value of another kind
            {
                var parts = new[] { "normalizer", "pre_tokenizer", "post_processor", "decoder", "model", "added_tokens" };
                o.Set(parts[rng.Next(parts.Length)], Json.RandomValue(rng));
                return true;
            }
        }
    }
}
