using Sieve.Tensors;

namespace Sieve.Models;

/// <summary>One decoder block's weights. Matrices are [out, in] row-major; vectors are plain F32.</summary>
public sealed class LayerWeights
{
    public required float[] AttnNorm { get; init; }   // [dim]
    public required WeightTensor Wq { get; init; }    // [nHeads*headDim, dim]
    public required WeightTensor Wk { get; init; }    // [nKvHeads*headDim, dim]
    public required WeightTensor Wv { get; init; }    // [nKvHeads*headDim, dim]
    public required WeightTensor Wo { get; init; }    // [dim, nHeads*headDim]
    public float[]? Bq { get; init; }                 // [nHeads*headDim]    Qwen2
    public float[]? Bk { get; init; }                 // [nKvHeads*headDim]  Qwen2
    public float[]? Bv { get; init; }                 // [nKvHeads*headDim]  Qwen2
    public float[]? QNorm { get; init; }              // [headDim]           Qwen3
    public float[]? KNorm { get; init; }              // [headDim]           Qwen3
    public float[]? PostAttnNorm { get; init; }       // [dim]               Gemma 2/3: on the attention output
    public required float[] FfnNorm { get; init; }    // [dim]
    public float[]? PostFfnNorm { get; init; }        // [dim]               Gemma 2/3: on the FFN output
    public required WeightTensor Gate { get; init; }  // [ffn, dim]   w1
    public required WeightTensor Up { get; init; }    // [ffn, dim]   w3
    public required WeightTensor Down { get; init; }  // [dim, ffn]   w2
}
