namespace Sieve.Sparsity;

/// <summary>
/// What `sieve sparsity calibrate` writes and `--sparsity-file` reads: per-layer thresholds of one method, with the
/// model they were calibrated on, the target sparsity and the calibration text's hash. Immutable; one instance may
/// serve every request that asks for it.
/// </summary>
public sealed record ActivationThresholds
{
    public required SparsityMethod Method { get; init; }

    /// <summary>The file or folder name of the model calibrated (informative; the shape below is what is checked).</summary>
    public string? Model { get; init; }

    public required int LayerCount { get; init; }
    public required int Dim { get; init; }
    public required int QDim { get; init; }
    public required int FfnDim { get; init; }

    /// <summary>The target sparsity per layer, each in [0, 1).</summary>
    public required float[] TargetSparsity { get; init; }

    /// <summary>SHA-256 of the calibration text (hex), and how many tokens of it were used.</summary>
    public string? CalibrationSha256 { get; init; }
    public int CalibrationTokens { get; init; }

    public required LayerThresholds[] Layers { get; init; }

    /// <summary>
    /// Checks the thresholds fit <paramref name="config"/> and are sane (finite, non-negative, the method's sites only);
    /// throws <see cref="InvalidDataException"/> naming the first problem.
    /// </summary>
    public void Validate(Models.ModelConfig config)
    {
        if (LayerCount != config.LayerCount || Dim != config.Dim || QDim != config.QDim || FfnDim != config.FfnDim)
            throw new InvalidDataException($"the thresholds are for a model of {LayerCount} layers, dim {Dim}, q dim {QDim}, ffn {FfnDim}; this model has {config.LayerCount}, {config.Dim}, {config.QDim}, {config.FfnDim}");
        Validate();
    }

    /// <summary>Internal consistency, without a model.</summary>
    public void Validate()
    {
        if (Layers.Length != LayerCount) throw new InvalidDataException($"{Layers.Length} layers of thresholds for {LayerCount} layers");
        if (TargetSparsity.Length != LayerCount) throw new InvalidDataException($"{TargetSparsity.Length} target sparsities for {LayerCount} layers");
        for (int l = 0; l < LayerCount; l++)
        {
            float s = TargetSparsity[l];
            if (!(s >= 0 && s < 1)) throw new InvalidDataException($"layer {l}: target sparsity {s} is outside [0, 1)");
            var t = Layers[l] ?? throw new InvalidDataException($"layer {l}: no thresholds");
            var sites = Method.Sites();
            foreach (var site in Enum.GetValues<SparseSite>())
            {
                float v = t.Scalar(site);
                if (!(v >= 0) || float.IsInfinity(v)) throw new InvalidDataException($"layer {l}: {site} threshold {v} is not a finite number ≥ 0");
                if (v > 0 && !sites.Contains(site)) throw new InvalidDataException($"layer {l}: {Method.Name()} does not threshold {site}");
            }
            if (t.GateChannels is { } g)
            {
                if (g.Length != FfnDim) throw new InvalidDataException($"layer {l}: {g.Length} gate channel thresholds for an FFN of {FfnDim}");
                if (!sites.Contains(SparseSite.Gate)) throw new InvalidDataException($"layer {l}: {Method.Name()} has no gate thresholds");
                for (int i = 0; i < g.Length; i++)
                    if (!(g[i] >= 0) || float.IsInfinity(g[i])) throw new InvalidDataException($"layer {l}: gate channel {i} threshold {g[i]} is not a finite number ≥ 0");
            }
        }
    }
}
