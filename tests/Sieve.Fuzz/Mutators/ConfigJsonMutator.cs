using Sieve.Fuzz.Json;

namespace Sieve.Fuzz.Mutators;

/// <summary>
/// Mutates a Hugging Face <c>config.json</c>: the generic JSON damage plus, half the time, one of the keys the
/// loader reads set to a limit or a value of the wrong kind.
/// </summary>
public static class ConfigJsonMutator
{
    static readonly string[] Keys =
    [
        "architectures", "model_type", "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim",
        "intermediate_size", "vocab_size", "max_position_embeddings", "rms_norm_eps", "rope_theta", "rope_scaling", "rope_type", "factor",
        "low_freq_factor", "high_freq_factor", "original_max_position_embeddings", "tie_word_embeddings", "attention_bias", "hidden_act",
        "torch_dtype", "dtype", "partial_rotary_factor", "sliding_window", "use_sliding_window", "bos_token_id", "eos_token_id", "text_config",
    ];

    static readonly JsonMutator Json = new(new JsonWords(Keys,
        ["llama", "LlamaForCausalLM", "qwen2", "Qwen2ForCausalLM", "qwen3", "Qwen3ForCausalLM", "mistral", "MistralForCausalLM", "gemma2",
         "gpt2", "GPT2LMHeadModel", "silu", "gelu", "relu", "float32", "bfloat16", "float16", "int8", "llama3", "linear", "dynamic", "yarn", "default"]));

    public static byte[] Mutate(byte[] json, Random rng) => Json.Mutate(json, rng, KnownKey);

    static bool KnownKey(JNode root, Random rng)
    {
        if (root is not JObject o) return false;
        string key = Keys[rng.Next(Keys.Length)];
        var current = o[key] as JRaw;
        var value = current?.Clone() as JRaw ?? new JRaw("1");
        if (rng.Next(3) == 0) o.Set(key, Json.RandomValue(rng)); else { Json.TweakScalar(value, rng); o.Set(key, value); }
        return true;
    }
}
