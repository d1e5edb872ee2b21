using Sieve.Tokenization;

namespace Sieve.Pop;

/// <summary>
/// Teacher-forced calibration windows for POP's importance: each is <see cref="PromptLength"/> prompt tokens
/// followed by <see cref="DecodeLength"/> continuation tokens, cut from one text. The split follows POP's boundary
/// handling: the first P − 1 tokens are prefill-stage rows, and the last prompt token with the first D − 1
/// continuation tokens are decode-stage rows, whose next-token predictions (tokens P … P + D − 1) make the loss —
/// so the first "generated" token is predicted at decode depth, as under POP.
/// </summary>
public sealed class ImportanceWindows
{
    public IReadOnlyList<int[]> Windows { get; }
    public int PromptLength { get; }
    public int DecodeLength { get; }
    /// <summary>Windows the text holds; <see cref="Windows"/> may use fewer.</summary>
    public int Available { get; }

    public int PrefillRows => PromptLength - 1;
    public int Length => PromptLength + DecodeLength;

    public ImportanceWindows(IReadOnlyList<int[]> windows, int promptLength, int decodeLength, int available = 0)
    {
        if (promptLength < 2) throw new ArgumentException($"--prompt-len {promptLength}: a prompt needs at least 2 tokens (one prefill row and the boundary row)");
        if (decodeLength < 1) throw new ArgumentException($"--decode-len {decodeLength}: at least one decode position is needed for the loss");
        if (windows.Count == 0) throw new ArgumentException("no calibration windows");
        foreach (var w in windows)
            if (w.Length != promptLength + decodeLength) throw new ArgumentException($"a calibration window has {w.Length} tokens, not {promptLength} + {decodeLength}");
        Windows = windows; PromptLength = promptLength; DecodeLength = decodeLength; Available = Math.Max(available, windows.Count);
    }

    /// <summary>
    /// Consecutive, non-overlapping windows from the start of the text, each opened with BOS when the tokenizer adds
    /// one (as llama.cpp's perplexity opens every chunk); at most <paramref name="count"/> (0: every window that fits).
    /// </summary>
    public static ImportanceWindows FromText(TextTokenizer tokenizer, string text, string source, int promptLength, int decodeLength, int count, int contextLength)
    {
        if (promptLength + decodeLength > contextLength)
            throw new ArgumentException($"--prompt-len {promptLength} + --decode-len {decodeLength} = {promptLength + decodeLength} tokens do not fit the model's context of {contextLength}");
        if (string.IsNullOrWhiteSpace(text)) throw new ArgumentException($"{source}: the calibration text is empty");
        var body = tokenizer.Encode(text, addBos: false);
        bool bos = tokenizer.AddBos && tokenizer.BosId >= 0;
        int length = promptLength + decodeLength, take = length - (bos ? 1 : 0);
        int available = body.Length / take;
        if (available == 0)
            throw new ArgumentException($"{source}: the calibration text has {body.Length} tokens; one window needs {take} (--prompt-len {promptLength} + --decode-len {decodeLength}{(bos ? " − BOS" : "")})");
        int n = count > 0 ? Math.Min(count, available) : available;
        var windows = new List<int[]>(n);
        for (int i = 0; i < n; i++)
        {
            var w = new int[length];
            if (bos) w[0] = tokenizer.BosId;
            body.AsSpan(i * take, take).CopyTo(w.AsSpan(bos ? 1 : 0));
            windows.Add(w);
        }
        return new ImportanceWindows(windows, promptLength, decodeLength, available);
    }
}
