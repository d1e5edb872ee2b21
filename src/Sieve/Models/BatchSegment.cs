using Sieve.Cache;

namespace Sieve.Models;

/// <summary>
/// One sequence's share of a batched forward pass, as llama.cpp's <c>llama_batch</c> carries <c>pos</c>,
/// <c>seq_id</c> and <c>logits</c> per token: consecutive tokens of one sequence from <see cref="StartPos"/>, the
/// cache that holds that sequence, its stage, and which of its rows need logits.
/// </summary>
/// <param name="Cache">The sequence's own cache; one segment per cache in a batch.</param>
/// <param name="Tokens">Token ids at positions StartPos, StartPos+1, …</param>
/// <param name="LogitsFrom">Rows from this index on get logits: 0 all (perplexity), Tokens.Length-1 the last
/// (generation), Tokens.Length none (a prefill chunk that is not the prompt's last).</param>
/// <param name="Options">Plan and hooks for this sequence; null: <see cref="ForwardOptions.Default"/>.</param>
public readonly record struct BatchSegment(
    IKvCache Cache, ReadOnlyMemory<int> Tokens, int StartPos, ForwardStage Stage, int LogitsFrom, ForwardOptions? Options = null)
{
    public int Count => Tokens.Length;
    public int LogitRows => Count - LogitsFrom;

    /// <summary>A prompt chunk; <paramref name="lastLogits"/>: the last row gets logits.</summary>
    public static BatchSegment Prefill(IKvCache cache, ReadOnlyMemory<int> tokens, int startPos, bool lastLogits = true, ForwardOptions? options = null) =>
        new(cache, tokens, startPos, ForwardStage.Prefill, lastLogits ? tokens.Length - 1 : tokens.Length, options);

    /// <summary>One generated token at <paramref name="pos"/>, with its logits.</summary>
    public static BatchSegment Decode(IKvCache cache, int token, int pos, ForwardOptions? options = null) =>
        new(cache, new[] { token }, pos, ForwardStage.Decode, 0, options);
}
