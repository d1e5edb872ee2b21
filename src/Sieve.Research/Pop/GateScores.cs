using System.Text.Json.Serialization;

namespace Sieve.Pop;

/// <summary>
/// One layer's importance for one stage, means over calibration windows of the loss L(g) (mean next-token
/// cross-entropy over the decode positions) as that stage's gate g on the layer's residual branch moves from 1.
/// </summary>
/// <param name="Fisher">½·E[(∂L/∂g)²]: the paper's second-order importance in its Fisher form (targets sampled from
/// the model, where E[∂L/∂g] ≈ 0 and the squared gradient stands in for the Hessian).</param>
/// <param name="Curvature">E[∂²L/∂g²] from the same three passes: (L(1+ε) − 2L(1) + L(1−ε)) / ε².</param>
/// <param name="Ablation">E[L(0) − L(1)]: the loss change when the stage's branch is dropped (K/V still cached).</param>
/// <param name="Derivative">E[∂L/∂g] by central differences: near 0 for sampled targets.</param>
public sealed record GateScores(
    [property: JsonPropertyName("fisher")] double Fisher,
    [property: JsonPropertyName("curvature")] double Curvature,
    [property: JsonPropertyName("ablation")] double Ablation,
    [property: JsonPropertyName("derivative")] double Derivative)
{
    /// <summary>The second-order Taylor estimate of <see cref="Ablation"/>: ΔL ≈ −∂L/∂g + ½ ∂²L/∂g² (g: 1 → 0).</summary>
    [JsonPropertyName("taylor")]
    public double Taylor => -Derivative + 0.5 * Curvature;
}

/// <summary>A layer's scores in each stage under one kind of target.</summary>
public sealed record StageScores(
    [property: JsonPropertyName("prefill")] GateScores Prefill,
    [property: JsonPropertyName("decode")] GateScores Decode);

/// <summary>
/// One layer: scores with targets sampled from the model (the Fisher estimate the paper names; the top-level
/// <c>prefill</c>/<c>decode</c>) and with the text's own next tokens (<c>text</c>), from the same passes.
/// </summary>
public sealed record LayerImportance(
    [property: JsonPropertyName("layer")] int Layer,
    [property: JsonPropertyName("prefill")] GateScores Prefill,
    [property: JsonPropertyName("decode")] GateScores Decode,
    [property: JsonPropertyName("text")] StageScores Text);
