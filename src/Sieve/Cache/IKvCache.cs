using Sieve.Models;

namespace Sieve.Cache;

/// <summary>
/// Where a layer's keys and values go, and how attention reads them back. The forward pass only appends K/V
/// rows and asks for attention outputs, telling the cache which stage it is in, so a cache may compress or evict
/// at the prefill/decode boundary (a press), store keys as 1-bit codes or offload them, and answer decode steps
/// with sparse top-K attention (a selector) — without the forward pass knowing.
/// </summary>
public interface IKvCache
{
    /// <summary>Positions stored (the same for every layer once a forward pass completes), evicted ones included.</summary>
    int Length { get; }

    /// <summary>Positions the cache can hold.</summary>
    int Capacity { get; }

    /// <summary>Stores post-RoPE keys and values of <paramref name="count"/> consecutive positions from <paramref name="startPos"/>.</summary>
    /// <param name="k">count × kvDim</param>
    /// <param name="v">count × kvDim</param>
    void Append(int layer, ForwardStage stage, int startPos, int count, ReadOnlySpan<float> k, ReadOnlySpan<float> v);

    /// <summary>
    /// Causal attention for <paramref name="count"/> query rows at positions startPos.. (each attends to positions
    /// 0..its own, or to the subset the cache keeps or selects), writing count × (heads·headDim) into
    /// <paramref name="output"/>.
    /// </summary>
    void Attend(int layer, ForwardStage stage, int startPos, int count, ReadOnlySpan<float> q, Span<float> output);

    /// <summary>Forgets positions ≥ <paramref name="length"/> (a new prompt that shares a prefix, or a reset).</summary>
    void Truncate(int length);

    /// <summary>What the cache holds in memory, measured from its buffers.</summary>
    KvMemory Memory { get; }
}
