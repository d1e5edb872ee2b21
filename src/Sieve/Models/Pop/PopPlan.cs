namespace Sieve.Models.Pop;

/// <summary>
/// A POP plan (prefill-only pruning, arXiv 2602.03295): the layers that prefill runs KvOnly (their K and V projected
/// from the residual stream at the cut, with bias, QK-norm and RoPE; the residual passes them unchanged) while decode
/// runs every layer, and how the prompt's last token is run (<see cref="PromptBoundary"/>). Immutable; turn it into a
/// request's <see cref="ForwardOptions"/> with <see cref="Apply"/>.
/// </summary>
/// <remarks>
/// Which layers by default: the last N. The paper skips deep layers; and with the boundary handled, the last layer is
/// the cheapest of all to skip in prefill: its residual output feeds only the logits, which no prefill row needs, so
/// KvOnly there is exact (its K/V come from its true input). Layer 0 is never chosen by count or importance: some
/// layer must turn the embeddings into the stream the skipped layers project, so N is at most LayerCount − 1.
/// </remarks>
public sealed record PopPlan
{
    /// <summary>Layers of the model the plan was made for.</summary>
    public int LayerCount { get; }

    /// <summary>KvOnly in prefill, Full in decode; ascending, distinct, each in 0..LayerCount−1.</summary>
    public IReadOnlyList<int> SkippedLayers { get; }

    public PromptBoundary Boundary { get; init; } = PromptBoundary.Full;

    /// <summary>How the layers were chosen, in words ("last 2", "lowest prefill importance in imp.json", "layers 3-4").</summary>
    public string Source { get; init; } = "";

    /// <summary>The model file the plan was made for, when known (a plan file records it).</summary>
    public string? Model { get; init; }

    public PopPlan(int layerCount, IEnumerable<int> skippedLayers)
    {
        if (layerCount < 1) throw new ArgumentException($"a POP plan needs a model with layers (got {layerCount})");
        var skipped = skippedLayers.Distinct().Order().ToArray();
        foreach (int l in skipped)
            if ((uint)l >= (uint)layerCount) throw new ArgumentException($"layer {l} is outside the model's layers 0..{layerCount - 1}");
        if (skipped.Length >= layerCount)
            throw new ArgumentException($"the plan skips all {layerCount} layers in prefill; at least one must run (skip at most {layerCount - 1})");
        LayerCount = layerCount;
        SkippedLayers = skipped;
    }

    /// <summary>The last <paramref name="count"/> layers (see the remarks: the last one is exact to skip).</summary>
    public static PopPlan LastLayers(int layerCount, int count)
    {
        CheckCount(layerCount, count);
        return new PopPlan(layerCount, Enumerable.Range(layerCount - count, count)) { Source = $"last {count}" };
    }

    /// <summary>The <paramref name="count"/> layers with the lowest prefill importance, layer 0 excluded; ties go to the deeper layer.</summary>
    public static PopPlan LowestImportance(PrefillImportance importance, int count)
    {
        CheckCount(importance.LayerCount, count);
        var chosen = Enumerable.Range(1, importance.LayerCount - 1)
            .OrderBy(l => importance.Prefill[l]).ThenByDescending(l => l).Take(count);
        return new PopPlan(importance.LayerCount, chosen) { Source = $"lowest prefill importance ({importance.Source})" };
    }

    /// <summary>Layers named as a list of numbers and ranges: "18-27", "3,5,7-9".</summary>
    public static PopPlan FromLayerList(int layerCount, string list) =>
        new(layerCount, LayerList.Parse(list, layerCount)) { Source = $"layers {list.Trim()}" };

    static void CheckCount(int layerCount, int count)
    {
        if (count < 0) throw new ArgumentException($"--pop {count}: the number of layers to skip cannot be negative");
        if (count >= layerCount)
            throw new ArgumentException($"--pop {count}: the model has {layerCount} layers; at most {layerCount - 1} can be skipped in prefill (layer 0 always runs)");
    }

    /// <summary>Prefill: skipped layers KvOnly, the rest Full; decode: every layer Full.</summary>
    public LayerPlan ToLayerPlan()
    {
        var prefill = Enumerable.Repeat(LayerMode.Full, LayerCount).ToArray();
        foreach (int l in SkippedLayers) prefill[l] = LayerMode.KvOnly;
        return new LayerPlan(prefill, Enumerable.Repeat(LayerMode.Full, LayerCount).ToArray());
    }

    /// <summary>
    /// <paramref name="options"/> (hooks, gates kept) running this plan. A plan that skips nothing sets no layer plan,
    /// so it is the dense model bit for bit.
    /// </summary>
    public ForwardOptions Apply(ForwardOptions? options = null) =>
        (options ?? ForwardOptions.Default) with { Plan = SkippedLayers.Count == 0 ? null : ToLayerPlan(), Boundary = Boundary };

    /// <summary>"layers 3-4 KvOnly in prefill (last 2), boundary full".</summary>
    public override string ToString() =>
        $"POP: layers {LayerList.Format(SkippedLayers)} KvOnly in prefill{(Source.Length > 0 ? $" ({Source})" : "")}, boundary {Boundary.ToString().ToLowerInvariant()}";
}
