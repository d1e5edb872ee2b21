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
    }
}
