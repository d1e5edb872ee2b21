namespace Sieve.Eval.Tasks;

/// <summary>
/// One multiple-choice question, already rendered the way lm-evaluation-harness renders its task. Usually each
/// choice is scored as the log-likelihood of <c>" " + choice</c> after <see cref="Context"/>; a "multiple input"
/// task (WinoGrande) instead puts each choice into the context and scores one shared
/// <see cref="Continuation"/> after <c>Context + choice</c>.
/// </summary>
/// <param name="OptionLabels">Single-token labels ("A".."D") when the prompt lists lettered options, so the decision
/// probe can read the answer at one position; null for continuation tasks (HellaSwag, PIQA).</param>
/// <param name="Continuation">The shared continuation of a multiple-input task; null otherwise.</param>
public sealed record McqSample(string Id, string Context, IReadOnlyList<string> Choices, int Gold,
    IReadOnlyList<string>? OptionLabels = null, string? Continuation = null)
{
    public bool IsMultipleInput => Continuation != null;

    /// <summary>The harness's loglikelihood request for choice <paramref name="i"/>: (context, continuation).</summary>
    public (string Context, string Continuation) Request(int i) =>
        Continuation != null ? (Context + Choices[i], " " + Continuation) : (Context, " " + Choices[i]);

    /// <summary>
    /// What acc_norm divides by: the harness's choice string, which for a multiple-input task is the whole partial
    /// context (its <c>doc_to_choice</c>), otherwise the choice itself, in characters.
    /// </summary>
    public int NormLength(int i) => Math.Max(1, Continuation != null ? Context.Length + Choices[i].Length : Choices[i].Length);
}
