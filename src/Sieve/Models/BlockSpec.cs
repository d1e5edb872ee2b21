namespace Sieve.Models;

/// <summary>
/// One decoder block as the forward pass runs it, resolved from the <see cref="ModelConfig"/> once at load: which
/// norms wrap attention and the FFN, the activation, the attention window, the RoPE of this layer and the softmax
/// scale. Architectures differ here, in data, and the one forward pass reads it (llama.cpp keeps the same facts
/// in its hparams and per-layer tensors; a Gemma 3 layer is "sliding, base 10 000" or "global, base 1 000 000").
/// </summary>
public sealed record BlockSpec
{
    public required int Layer { get; init; }
    /// <summary>Qwen2: biases on Q, K and V.</summary>
    public bool QkvBias { get; init; }
    /// <summary>Qwen3, Gemma 3: RMSNorm over each head of Q and K before RoPE.</summary>
    public bool QkNorm { get; init; }
    /// <summary>Gemma 2/3: RMSNorm on the attention output and on the FFN output before each joins the residual.</summary>
    public bool SandwichNorms { get; init; }
    public FfnActivation Activation { get; init; }
    /// <summary>Keys this layer's queries see, counting their own (0: all of them).</summary>
    public int Window { get; init; }
    public required float RopeTheta { get; init; }
    public RopeScaling? RopeScaling { get; init; }
    /// <summary>Linear RoPE scaling (positions divided by it); 1 for none.</summary>
    public float RopeLinearFactor { get; init; } = 1f;
    /// <summary>The softmax scale of attention scores, 1/√headDim unless the model says otherwise (Gemma's query_pre_attn_scalar).</summary>
    public required float QueryScale { get; init; }

    public bool IsSliding => Window > 0;

    /// <summary>Every layer's spec. Layers differ only where the config says they do (sliding window, its RoPE base).</summary>
    public static BlockSpec[] Resolve(ModelConfig c)
    {
        float scale = 1f / MathF.Sqrt(c.QueryPreAttnScalar > 0 ? c.QueryPreAttnScalar : c.HeadDim);
        var blocks = new BlockSpec[c.LayerCount];
        for (int l = 0; l < blocks.Length; l++)
        {
            bool sliding = c.IsSliding(l);
            blocks[l] = new BlockSpec
            {
                Layer = l,
                QkvBias = c.QkvBias,
                QkNorm = c.QkNorm,
                SandwichNorms = c.SandwichNorms,
                Activation = c.Activation,
                Window = sliding ? c.SlidingWindow : 0,
                // Gemma 3's local layers keep the short base and no scaling; its global layers take the long base
                // and the linear factor (transformers' rope_local_base_freq; llama.cpp's freq_base_swa).
                RopeTheta = sliding && c.SlidingRopeTheta > 0 ? c.SlidingRopeTheta : c.RopeTheta,
                RopeScaling = c.RopeScaling,
                RopeLinearFactor = sliding && c.SlidingRopeTheta > 0 ? 1f : c.RopeLinearFactor,
                QueryScale = scale,
            };
        }
        return blocks;
    }

    /// <summary>One line for <c>sieve info</c>.</summary>
    public string Describe()
    {
        var parts = new List<string> { IsSliding ? $"sliding {Window}" : "global", $"RoPE base {RopeTheta:G}" };
        if (RopeLinearFactor != 1) parts.Add($"linear ×{RopeLinearFactor:G}");
        if (RopeScaling is { } s) parts.Add($"llama3 ×{s.Factor:G}");
        parts.Add(Activation == FfnActivation.Silu ? "SwiGLU" : "GeGLU (tanh)");
        if (SandwichNorms) parts.Add("pre+post norms");
        if (QkvBias) parts.Add("QKV bias");
        if (QkNorm) parts.Add("QK norm");
        return string.Join(", ", parts);
    }
}
