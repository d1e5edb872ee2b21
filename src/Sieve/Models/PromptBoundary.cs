namespace Sieve.Models;

/// <summary>
/// How a prompt's last token is run when the plan prunes prefill (POP). Its logits give the first generated token, so
/// under <see cref="Full"/> it runs through every layer as the first decode-stage row, at its true position, attending
/// to the caches the pruned prefill filled: the first token then comes from the full model, as POP's boundary
/// handling wants. <see cref="None"/> runs it with the rest of the prompt through the pruned prefill, as
/// ShortGPT-gen does (kept as the ablation). A plan that runs the same layers in both stages ingests the whole prompt
/// as prefill either way.
/// </summary>
public enum PromptBoundary { Full, None }
