using System.Diagnostics;
using System.Text.RegularExpressions;
using Sieve.Formats;

namespace Sieve.Tokenization;

/// <summary>
/// One pre-tokenizer regex, run so that a pattern from a model file cannot stall encoding. A Split pattern such
/// as <c>(a+)+b</c> backtracks exponentially: on 32 'a's .NET's backtracking engine ran for over a minute.
/// </summary>
/// <remarks>
/// <para>The backtracking engine runs first, with a match timeout: it is the engine whose matches Hugging Face
/// (Oniguruma) and llama.cpp reproduce, and the only one that runs the lookaheads real patterns use (GPT-2's and
/// Llama 3's <c>\s+(?!\S)</c>). <see cref="RegexOptions.NonBacktracking"/> is not used up front, even for
/// patterns it supports: it drops matches for some patterns with an optional element at the start (on .NET 10,
/// <c> ?, ?</c> over " a,," finds one match where the backtracking engine finds two; dotnet/runtime#130176), a
/// shape that real Split patterns have (<c>\s?[!-/:-~]+</c>), and tokens must not change silently.</para>
/// <para>When a match times out, the pattern switches for good to a NonBacktracking twin (linear in the text),
/// which agrees with the backtracking engine except in such corner cases; that beats refusing to encode. A
/// pattern the twin cannot run (lookarounds, backreferences, atomic groups) ends in a
/// <see cref="ModelFileException"/> naming the tokenizer file and the pattern.</para>
/// </remarks>
sealed class GuardedRegex
{
    /// <summary>
    /// Per match. Real pre-tokenizer matches take microseconds (a match is one word or one run of spaces), so one
    /// second leaves a margin of ~10^5 even on a loaded machine, and caps what a hostile pattern costs.
    /// </summary>
    public static readonly TimeSpan DefaultMatchTimeout = TimeSpan.FromSeconds(1);

    const RegexOptions Options = RegexOptions.CultureInvariant;
    readonly string _source;
    readonly TimeSpan _timeout;
    readonly Regex _backtracking;
    volatile Regex? _linear;

    public string Pattern { get; }

    /// <param name="source">The tokenizer file, named in errors.</param>
    /// <param name="matchTimeout">Per match; <see cref="DefaultMatchTimeout"/> when null (tests pass a shorter one).</param>
    /// <param name="trusted">One of Sieve's own patterns (llama.cpp's): no time limit at all.</param>
    public GuardedRegex(string pattern, string source, TimeSpan? matchTimeout = null, bool trusted = false)
    {
        Pattern = pattern;
        _source = source;
        _timeout = trusted ? Regex.InfiniteMatchTimeout : matchTimeout ?? DefaultMatchTimeout;
        try { _backtracking = new Regex(pattern, Options | RegexOptions.Compiled, _timeout); }
        catch (ArgumentException e) { throw new ModelFileException(source, $"pre-tokenizer regex '{Shown}' is not usable: {e.Message}", e); }
    }

    string Shown => Pattern.Length <= 200 ? Pattern : Pattern[..200] + "…";

    /// <summary>Appends the pieces of text[start..start+length] to <paramref name="into"/>: each non-empty match and the text between matches.</summary>
    public void Split(string text, int start, int length, List<(int Start, int Length)> into)
    {
        int mark = into.Count;
        var regex = _linear ?? _backtracking;
        try
        {
            SplitWith(regex, text, start, length, into);
            return;
        }
        catch (RegexMatchTimeoutException e)
        {
            into.RemoveRange(mark, into.Count - mark);
            if (regex != _backtracking) throw TooSlow(length, e);
            _linear ??= LinearTwin(length);
        }
        try { SplitWith(_linear, text, start, length, into); }
        catch (RegexMatchTimeoutException e) { throw TooSlow(length, e); }
    }

    /// <summary>
    /// Many matches that each stay under the timeout can still add up (a pattern quadratic in the length of each
    /// space run, over a long text), so a whole piece also has a budget: one timeout plus 1 µs per character.
    /// Real patterns split 10-50 MB of text a second, 10-50 times faster than that.
    /// </summary>
    long Budget(int length) => _timeout == Regex.InfiniteMatchTimeout ? long.MaxValue / 2
        : (long)((_timeout.TotalSeconds + length * 1e-6) * Stopwatch.Frequency);

    void SplitWith(Regex regex, string text, int start, int length, List<(int, int)> into)
    {
        long deadline = Stopwatch.GetTimestamp() + Budget(length);
        int at = start;
        foreach (var m in regex.EnumerateMatches(text.AsSpan(start, length)))
        {
            if (Stopwatch.GetTimestamp() > deadline) throw new RegexMatchTimeoutException(text, Pattern, _timeout);
            if (m.Length == 0) continue;
            int ms = start + m.Index;
            if (ms > at) into.Add((at, ms - at));
            into.Add((ms, m.Length));
            at = ms + m.Length;
        }
        if (at < start + length) into.Add((at, start + length - at));
    }

    Regex LinearTwin(int length)
    {
        try { return new Regex(Pattern, Options | RegexOptions.NonBacktracking, _timeout); }
        catch (NotSupportedException e)
        {
            throw new ModelFileException(_source, $"pre-tokenizer regex '{Shown}' backtracks without end (over {_timeout.TotalSeconds:0.##} s on a piece of {length} characters), and it cannot run without backtracking ({e.Message}); this text cannot be encoded with it", e);
        }
    }

    ModelFileException TooSlow(int length, Exception e) =>
        new(_source, $"pre-tokenizer regex '{Shown}' takes over {_timeout.TotalSeconds:0.##} s per match on a piece of {length} characters; this text cannot be encoded with it", e);
}
