using Sieve.Models;
using Sieve.Tensors;

namespace Sieve.Formats;

/// <summary>
/// The one name table: what each checkpoint format calls a decoder block's tensors. Loaders resolve names through
/// it into <see cref="LayerWeights"/>; names never become field names elsewhere.
/// </summary>
public sealed record LayerTensorNames(
    string AttnNorm, string Wq, string Wk, string Wv, string Wo,
    string Bq, string Bk, string Bv, string QNorm, string KNorm,
    string FfnNorm, string Gate, string Up, string Down, string PostAttnNorm, string PostFfnNorm)
{
    /// <summary>
    /// llama.cpp's GGUF names, <c>blk.N.*</c> (its <c>LLM_TENSOR_NAMES</c>; Gemma 2/3's sandwich norms are
    /// <c>post_attention_norm</c> and <c>post_ffw_norm</c>, their pre-FFN norm <c>ffn_norm</c>).
    /// </summary>
    public static LayerTensorNames Gguf(int layer)
    {
        string p = $"blk.{layer}.";
        return new(p + "attn_norm.weight", p + "attn_q.weight", p + "attn_k.weight", p + "attn_v.weight", p + "attn_output.weight",
            p + "attn_q.bias", p + "attn_k.bias", p + "attn_v.bias", p + "attn_q_norm.weight", p + "attn_k_norm.weight",
            p + "ffn_norm.weight", p + "ffn_gate.weight", p + "ffn_up.weight", p + "ffn_down.weight",
            p + "post_attention_norm.weight", p + "post_ffw_norm.weight");
    }

    /// <summary>
    /// Hugging Face transformers' names, <c>{prefix}layers.N.*</c> (prefix <c>model.</c>, or the language model's inside
    /// Gemma 3's multimodal checkpoints). In Llama and Qwen <c>post_attention_layernorm</c> is the FFN's pre-norm; in
    /// Gemma 2/3 it normalises the attention output and the FFN's pre-norm is <c>pre_feedforward_layernorm</c>
    /// (transformers' Gemma2DecoderLayer; llama.cpp maps them to post_attention_norm and ffn_norm).
    /// </summary>
    public static LayerTensorNames HuggingFace(int layer, string arch = Architectures.Llama, string prefix = "model.")
    {
        string p = $"{prefix}layers.{layer}.";
        bool gemma = Architectures.IsGemma(arch);
        return new(p + "input_layernorm.weight", p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight",
            p + "self_attn.v_proj.weight", p + "self_attn.o_proj.weight",
            p + "self_attn.q_proj.bias", p + "self_attn.k_proj.bias", p + "self_attn.v_proj.bias",
            p + "self_attn.q_norm.weight", p + "self_attn.k_norm.weight",
            p + (gemma ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight"),
            p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight", p + "mlp.down_proj.weight",
            p + "post_attention_layernorm.weight", p + "post_feedforward_layernorm.weight");
    }

    /// <summary>Resolves one block: matrices through <paramref name="matrix"/>, vectors through <paramref name="vector"/>; biases and QK-norms only when the config has them.</summary>
    public LayerWeights Resolve(ModelConfig c, Func<string, WeightTensor> matrix, Func<string, float[]> vector) => new()
    {
        AttnNorm = vector(AttnNorm),
        Wq = matrix(Wq), Wk = matrix(Wk), Wv = matrix(Wv), Wo = matrix(Wo),
        Bq = c.QkvBias ? vector(Bq) : null,
        Bk = c.QkvBias ? vector(Bk) : null,
        Bv = c.QkvBias ? vector(Bv) : null,
        QNorm = c.QkNorm ? vector(QNorm) : null,
        KNorm = c.QkNorm ? vector(KNorm) : null,
        FfnNorm = vector(FfnNorm),
        PostAttnNorm = c.SandwichNorms ? vector(PostAttnNorm) : null,
        PostFfnNorm = c.SandwichNorms ? vector(PostFfnNorm) : null,
        Gate = matrix(Gate), Up = matrix(Up), Down = matrix(Down),
    };
}
