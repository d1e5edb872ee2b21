namespace Sieve.Generation;

/// <summary>The prompt does not fit in the model's context.</summary>
public sealed class ContextLengthException(int promptTokens, int contextLength)
    : InvalidOperationException($"the prompt is {promptTokens} tokens but the context holds {contextLength}: shorten the prompt or raise the context length")
{
    public int PromptTokens { get; } = promptTokens;
    public int ContextLength { get; } = contextLength;
}
