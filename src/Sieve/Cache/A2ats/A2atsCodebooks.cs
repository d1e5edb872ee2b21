using Sieve.Models;

namespace Sieve.Cache.A2ats;

/// <summary>
/// A²ATS codebooks of a whole model: one <see cref="VqCodebook"/> per (layer, KV head), the WRoPE and selection
/// windows they were fitted for, and the model and calibration text they came from. Immutable: one instance serves
/// every sequence.
/// </summary>
public sealed class A2atsCodebooks
{
    /// <summary>The reference code's WRoPE distance W, sink count and local window (method notes §2.2).</summary>
    public const int DefaultWindow = 2048, DefaultSinks = 8, DefaultLocalWindow = 64;

    readonly VqCodebook[] _heads;   // layer-major: [layer * KvHeadCount + kvHead]

    public int LayerCount { get; }
    public int KvHeadCount { get; }
    public int HeadDim { get; }
    /// <summary>K, the same for every head.</summary>
    public int Centroids { get; }

    /// <summary>W: queries are rotated to this distance (R_W·q) to rank far tokens.</summary>
    public int Window { get; init; } = DefaultWindow;
    /// <summary>The first tokens always attended exactly.</summary>
    public int Sinks { get; init; } = DefaultSinks;
    /// <summary>The most recent tokens always attended exactly.</summary>
    public int LocalWindow { get; init; } = DefaultLocalWindow;
    /// <summary>Tokens of calibration text the metrics and codebooks were fitted on (0: synthetic or unknown).</summary>
    public long CalibrationTokens { get; init; }
    /// <summary>SHA-256 (hex) of the calibration text's UTF-8 bytes; empty when there was no text.</summary>
    public string CalibrationSha256 { get; init; } = "";
    /// <summary>The model file's name, for messages.</summary>
    public required string ModelName { get; init; }
    /// <summary><see cref="ModelFingerprint.Of"/> of the model the codebooks were fitted to.</summary>
    public required string ModelFingerprint { get; init; }
    /// <summary>The file these were read from, for messages; null when fitted in this process.</summary>
    public string? Source { get; init; }

    /// <param name="heads">Layer-major: heads[layer * kvHeadCount + kvHead]; all of one head dimension and K.</param>
    public A2atsCodebooks(IReadOnlyList<VqCodebook> heads, int layerCount, int kvHeadCount)
    {
        if (layerCount < 1 || kvHeadCount < 1) throw new ArgumentException($"codebooks need at least one layer and KV head (got {layerCount} × {kvHeadCount})");
        if (heads.Count != layerCount * kvHeadCount) throw new ArgumentException($"{layerCount} layers × {kvHeadCount} KV heads need {layerCount * kvHeadCount} codebooks, got {heads.Count}");
        HeadDim = heads[0].HeadDim;
        Centroids = heads[0].Centroids;
        for (int i = 0; i < heads.Count; i++)
            if (heads[i].HeadDim != HeadDim || heads[i].Centroids != Centroids)
                throw new ArgumentException($"codebook of layer {i / kvHeadCount} head {i % kvHeadCount} is {heads[i].Centroids}×{heads[i].HeadDim}, the first is {Centroids}×{HeadDim}");
        _heads = heads.ToArray();
        LayerCount = layerCount;
        KvHeadCount = kvHeadCount;
    }

    public VqCodebook Head(int layer, int kvHead)
    {
        if ((uint)layer >= (uint)LayerCount || (uint)kvHead >= (uint)KvHeadCount)
            throw new ArgumentOutOfRangeException(nameof(layer), $"no codebook for layer {layer} KV head {kvHead} ({LayerCount} layers × {KvHeadCount} heads)");
        return _heads[layer * KvHeadCount + kvHead];
    }

    /// <summary>Bytes of centroid data held in memory.</summary>
    public long Bytes => _heads.Sum(h => h.Bytes);

    /// <summary>
    /// Refuses codebooks fitted for another model: the shape first (a clear message when even the sizes differ),
    /// then the fingerprint.
    /// </summary>
    /// <exception cref="InvalidDataException">"codebooks were fitted for model X (…), not this one (…)".</exception>
    public void Validate(ModelConfig config, string fingerprint)
    {
        string from = Source != null ? $"{Source}: " : "";
        string mine = $"{LayerCount} layers, {KvHeadCount} KV heads, head dim {HeadDim}, fingerprint {Short(ModelFingerprint)}";
        string theirs = $"{config.LayerCount} layers, {config.KvHeadCount} KV heads, head dim {config.HeadDim}, fingerprint {Short(fingerprint)}";
        if (config.LayerCount != LayerCount || config.KvHeadCount != KvHeadCount || config.HeadDim != HeadDim || fingerprint != ModelFingerprint)
            throw new InvalidDataException($"{from}codebooks were fitted for model {ModelName} ({mine}), not this one ({theirs})");
    }

    static string Short(string fingerprint) => fingerprint.Length > 12 ? fingerprint[..12] + "…" : fingerprint;
}
