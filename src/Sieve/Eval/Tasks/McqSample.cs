namespace Sieve.Eval.Tasks;

/// <summary>
/// One multiple-choice question, already rendered the way lm-evaluation-harness renders its task: each choice is
/// scored as the log-likelihood of <c>" " + choice</c> after <see cref="Context"/>.
/// </summary>
/// <param name="OptionLabels">Single-token labels ("A".."D") when the prompt lists lettered options, so the decision
/// probe can read the answer at one position; null for continuation tasks (HellaSwag, PIQA).</param>
public sealed record McqSample(string Id, string Context, IReadOnlyList<string> Choices, int Gold, IReadOnlyList<string>? OptionLabels = null);
