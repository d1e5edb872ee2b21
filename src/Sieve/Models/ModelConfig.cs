namespace Sieve.Models;

/// <summary>
/// The shape and numerics of a Llama-family decoder, however it was stored. Immutable; derived sizes are
/// computed once here.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>GGUF-style architecture name: llama, mistral, qwen2, qwen3, gemma2, gemma3.</summary>
    public required string Architecture { get; init; }
    public required int Dim { get; init; }
    public required int LayerCount { get; init; }
    public required int HeadCount { get; init; }
    public required int KvHeadCount { get; init; }
    public required int HeadDim { get; init; }
    public required int FfnDim { get; init; }
    public required int VocabSize { get; init; }
    public required int ContextLength { get; init; }
    public float NormEps { get; init; } = 1e-5f;
    public float RopeTheta { get; init; } = 10000f;
    /// <summary>Dimensions of each head that RoPE rotates (the rest pass through); usually <see cref="HeadDim"/>.</summary>
    public int RopeDim { get; init; }
    public RopeStyle RopeStyle { get; init; } = RopeStyle.Interleaved;
    public RopeScaling? RopeScaling { get; init; }
    public bool TiedEmbeddings { get; init; }
    /// <summary>Qwen2: biases on the Q, K and V projections.</summary>
    public bool QkvBias { get; init; }
    /// <summary>Qwen3: RMSNorm over each head of Q and K before RoPE.</summary>
    public bool QkNorm { get; init; }

    // ---- Gemma 2/3 (defaults are Llama's: nothing changes unless a loader sets them) ----

    /// <summary>The FFN's gate activation: SiLU (Llama, Qwen) or tanh-approximated GELU (Gemma).</summary>
    public FfnActivation Activation { get; init; } = FfnActivation.Silu;
    /// <summary>Gemma 2/3: an RMSNorm on the attention output and on the FFN output before each joins the residual.</summary>
    public bool SandwichNorms { get; init; }
    /// <summary>Gemma: the token embedding is multiplied by √dim before the first block.</summary>
    public float EmbeddingScale { get; init; } = 1f;
    /// <summary>Gemma 2: attention scores ← c·tanh(score / c) (c = 50); 0 for none.</summary>
    public float AttnLogitSoftcap { get; init; }
    /// <summary>Gemma 2: logits ← c·tanh(logit / c) (c = 30); 0 for none.</summary>
    public float FinalLogitSoftcap { get; init; }
    /// <summary>Gemma: attention scores are scaled by 1/√s with this s (<c>query_pre_attn_scalar</c>); 0 means head dim.</summary>
    public float QueryPreAttnScalar { get; init; }
    /// <summary>Sliding-window length of the layers that slide; 0 when none does.</summary>
    public int SlidingWindow { get; init; }
    /// <summary>Which layers slide (true) when <see cref="SlidingWindow"/> is set; null with a window: all of them (Mistral).</summary>
    public bool[]? SlidingLayers { get; init; }
    /// <summary>Gemma 3: the RoPE base of sliding layers (10 000; global layers use <see cref="RopeTheta"/>); 0: the same base.</summary>
    public float SlidingRopeTheta { get; init; }
    /// <summary>Gemma 3 (4B and up): linear RoPE scaling of the global layers (positions divided by this); 1 for none.</summary>
    public float RopeLinearFactor { get; init; } = 1f;

    /// <summary>Whether layer <paramref name="layer"/> attends through a sliding window.</summary>
    public bool IsSliding(int layer) => SlidingWindow > 0 && (SlidingLayers == null || SlidingLayers[layer]);

    /// <summary>Each layer's window (0: global), or null when no layer slides.</summary>
    public int[]? LayerWindows() =>
        SlidingWindow > 0 ? Enumerable.Range(0, LayerCount).Select(l => IsSliding(l) ? SlidingWindow : 0).ToArray() : null;

    public int QDim => HeadCount * HeadDim;
    public int KvDim => KvHeadCount * HeadDim;
    /// <summary>Query heads per KV head (grouped-query attention).</summary>
    public int GroupSize => HeadCount / KvHeadCount;

    /// <summary>Throws a clear error naming <paramref name="source"/> when the numbers cannot describe a model.</summary>
    public void Validate(string source)
    {
        void Need(bool ok, string what) { if (!ok) throw new Formats.ModelFileException(source, what); }
        Need(Dim > 0 && LayerCount > 0 && HeadCount > 0 && KvHeadCount > 0 && HeadDim > 0 && FfnDim > 0 && VocabSize > 0,
            $"model shape has a non-positive size (dim {Dim}, layers {LayerCount}, heads {HeadCount}, kv heads {KvHeadCount}, head dim {HeadDim}, ffn {FfnDim}, vocab {VocabSize})");
        Need(HeadCount % KvHeadCount == 0, $"{HeadCount} heads do not divide into {KvHeadCount} KV heads");
        Need(HeadDim % 2 == 0 && RopeDim % 2 == 0 && RopeDim <= HeadDim, $"head dim {HeadDim} / rope dim {RopeDim} must be even with rope dim <= head dim");
        Need(ContextLength > 0, $"context length {ContextLength} is not positive");
        Need(Dim <= 1 << 16 && FfnDim <= 1 << 18 && LayerCount <= 1024 && VocabSize <= 1 << 22 && HeadCount <= 1024,
            "model shape is implausibly large: corrupt file");
        Need(SlidingWindow >= 0, $"sliding window {SlidingWindow} is negative");
        Need(SlidingLayers == null || SlidingLayers.Length == LayerCount,
            $"the sliding-window pattern names {SlidingLayers?.Length} layers but the model has {LayerCount}");
        Need(SlidingLayers == null || SlidingWindow > 0 || !SlidingLayers.Contains(true), "layers are marked sliding but the sliding window is 0");
        Need(AttnLogitSoftcap >= 0 && FinalLogitSoftcap >= 0 && float.IsFinite(AttnLogitSoftcap) && float.IsFinite(FinalLogitSoftcap),
            $"soft-caps must be finite and non-negative (attention {AttnLogitSoftcap}, final {FinalLogitSoftcap})");
        Need(QueryPreAttnScalar >= 0 && float.IsFinite(QueryPreAttnScalar), $"query_pre_attn_scalar {QueryPreAttnScalar} is not a positive number");
        Need(EmbeddingScale > 0 && float.IsFinite(EmbeddingScale), $"embedding scale {EmbeddingScale} is not a positive number");
        Need(RopeLinearFactor >= 1 && RopeLinearFactor < 1e6, $"linear RoPE factor {RopeLinearFactor} is implausible");
        Need(SlidingRopeTheta == 0 || (SlidingRopeTheta > 1 && SlidingRopeTheta < 1e12), $"sliding-layer RoPE base {SlidingRopeTheta} is implausible");
    }
}
