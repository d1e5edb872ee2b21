namespace Sieve.Tokenization;

/// <summary>
/// Which ids stop generation. Checkpoints rarely list them all, so, like llama.cpp, we add EOS, any explicit
/// end-of-turn ids, and every token whose text is a known end-of-turn marker. "&lt;eos&gt;" is Gemma's end of
/// text: its instruction-tuned tokenizer_config.json names &lt;end_of_turn&gt; as eos_token, and a base model's
/// text still ends with &lt;eos&gt; (id 1; generation_config.json lists both, when the folder has one).
/// </summary>
static class EndOfGeneration
{
    static readonly string[] Markers =
    [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
        "<|end_of_text|>", "<EOT>", "<eos>", "_<EOT>", "<end_of_utterance>", "<｜end▁of▁sentence｜>",
    ];

    public static HashSet<int> Find(Vocabulary vocab, int eosId, params int[] moreIds)
    {
        var ids = new HashSet<int>();
        if (eosId >= 0) ids.Add(eosId);
        foreach (int id in moreIds) if (id >= 0) ids.Add(id);
        foreach (var marker in Markers)
        {
            int id = vocab.IdOf(marker);
            if (id >= 0) ids.Add(id);
        }
        return ids;
    }
}
