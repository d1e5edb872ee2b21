namespace Sieve.Models;

/// <summary>
/// What a forward call changes about the model for one sequence: the layer plan (which layers run in which stage;
/// POP, static pruning), the operators (activation sparsity) and the hooks on named activations (probes, calibration, CHESS). Immutable; travels with
/// the request, so two sequences in one batch may run different plans and hooks.
/// </summary>
public sealed record ForwardOptions
{
    public static readonly ForwardOptions Default = new();

    /// <summary>null: every layer runs fully in both stages.</summary>
    public LayerPlan? Plan { get; init; }

    /// <summary>POP's per-stage virtual gates on each block's residual branch; null: every gate 1.</summary>
    public LayerGates? Gates { get; init; }

    /// <summary>Whether a prompt's last token runs at decode depth when the plan prunes prefill (POP's boundary handling).</summary>
    public PromptBoundary Boundary { get; init; } = PromptBoundary.Full;

    /// <summary>
    /// The operators each layer computes its projections and FFN with (CHESS, CATS, TEAL: <see cref="Sparsity.ActivationSparsity"/>);
    /// null: the model's own dense operators.
    /// </summary>
    public Operators.IOperatorSet? Operators { get; init; }

    /// <summary>Called in order at each site they want; each sees what the ones before it wrote.</summary>
    public IReadOnlyList<IForwardHook> Hooks { get; init; } = [];

    public static ForwardOptions WithPlan(LayerPlan plan) => new() { Plan = plan };

    public static ForwardOptions WithHooks(params IForwardHook[] hooks) => new() { Hooks = hooks };

    /// <summary>These options with one more hook, called after the others.</summary>
    public ForwardOptions AddHook(IForwardHook hook) => this with { Hooks = [.. Hooks, hook] };

    /// <summary>
    /// How many of a prompt's <paramref name="promptLength"/> tokens run as prefill rows: all but the last when the plan
    /// runs fewer layers in prefill than in decode and the boundary is <see cref="PromptBoundary.Full"/> (the last then
    /// runs as a decode row), all of them otherwise.
    /// </summary>
    public int PrefillRows(int promptLength) =>
        promptLength > 0 && Boundary == PromptBoundary.Full && Plan is { PrunesPrefill: true } ? promptLength - 1 : promptLength;

    internal LayerMode Mode(ForwardStage stage, int layer) => Plan?.Mode(stage, layer) ?? LayerMode.Full;

    internal float Gate(ForwardStage stage, int layer) => Gates?.Gate(stage, layer) ?? 1f;
}
