using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Sieve.Tokenization;

namespace Sieve.Sparsity;

/// <summary>
/// The token sequences a calibration runs, one forward pass each; per-document quantiles are averaged over them, as
/// the CHESS refactor averages over C4 documents.
/// </summary>
/// <param name="Documents">Token ids, each run from position 0.</param>
/// <param name="Sha256">SHA-256 (hex) of the calibration file's bytes (what <c>sha256sum</c> prints); null for random tokens.</param>
/// <param name="Source">What the documents are, for messages.</param>
public sealed record CalibrationDocuments(IReadOnlyList<int[]> Documents, string? Sha256, string Source)
{
    public long Tokens => Documents.Sum(d => (long)d.Length);
    public int Longest => Documents.Count == 0 ? 0 : Documents.Max(d => d.Length);

    /// <summary>A paragraph break: a line break, then one or more lines holding only spaces or tabs.</summary>
    static readonly Regex BlankLine = new(@"\r?\n(?:[ \t]*\r?\n)+", RegexOptions.Compiled);

    /// <summary>
    /// Documents from a text: paragraphs separated by blank lines (C4 documents stand in for them in the refactor),
    /// each tokenized with BOS and cut into consecutive windows of at most <paramref name="window"/> tokens (the
    /// refactor truncates a document instead; a window keeps the rest of a long text in use). A trailing window under
    /// a quarter of <paramref name="window"/> is dropped when its document gave a full one: it would weigh as much as a
    /// full window in the average. Documents are taken in order until <paramref name="maxTokens"/> (the last one cut
    /// to fit); fewer when the text runs out.
    /// </summary>
    public static CalibrationDocuments FromText(TextTokenizer tokenizer, string text, string source, string sha256, int window, long maxTokens)
    {
        if (window < 2) throw new ArgumentException($"--window {window}: a calibration window needs at least 2 tokens");
        if (maxTokens < 2) throw new ArgumentException($"--tokens {maxTokens}: calibration needs at least 2 tokens");
        var docs = new List<int[]>();
        long total = 0;
        foreach (var paragraph in BlankLine.Split(text))
        {
            if (string.IsNullOrWhiteSpace(paragraph)) continue;
            var tokens = tokenizer.Encode(paragraph.Trim());
            for (int at = 0; at < tokens.Length && total < maxTokens; at += window)
            {
                int n = (int)Math.Min(Math.Min(window, tokens.Length - at), maxTokens - total);
                if (at > 0 && n < window / 4) break;
                docs.Add(tokens[at..(at + n)]);
                total += n;
            }
            if (total >= maxTokens) break;
        }
        if (total < 2) throw new ArgumentException($"{source}: the calibration text has fewer than 2 tokens");
        return new CalibrationDocuments(docs, sha256, $"{Path.GetFileName(source)}: {docs.Count} documents, {total} tokens");
    }

    /// <summary>
    /// Consecutive windows of <paramref name="window"/> tokens from one token stream, up to <paramref name="maxTokens"/>
    /// (a trailing window under a quarter of a window dropped, as in <see cref="FromText"/>): the sweep's calibration
    /// part, cut from the text ahead of its held-out part.
    /// </summary>
    public static CalibrationDocuments FromTokens(int[] tokens, int window, long maxTokens, string source, string? sha256)
    {
        if (window < 2) throw new ArgumentException($"--window {window}: a calibration window needs at least 2 tokens");
        var docs = new List<int[]>();
        long total = 0;
        for (int at = 0; at < tokens.Length && total < maxTokens; at += window)
        {
            int n = (int)Math.Min(Math.Min(window, tokens.Length - at), maxTokens - total);
            if (at > 0 && n < window / 4) break;
            docs.Add(tokens[at..(at + n)]);
            total += n;
        }
        if (total < 2) throw new ArgumentException($"{source}: fewer than 2 tokens to calibrate on");
        return new CalibrationDocuments(docs, sha256, $"{Path.GetFileName(source)}: {docs.Count} windows, {total} tokens");
    }

    /// <summary>Reads <paramref name="path"/> and hashes its bytes.</summary>
    public static CalibrationDocuments FromFile(TextTokenizer tokenizer, string path, int window, long maxTokens)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        var bytes = File.ReadAllBytes(path);
        string text = System.Text.Encoding.UTF8.GetString(bytes);
        if (string.IsNullOrWhiteSpace(text)) throw new ArgumentException($"{path}: the calibration text is empty");
        return FromText(tokenizer, text, path, Convert.ToHexStringLower(SHA256.HashData(bytes)), window, maxTokens);
    }

    /// <summary>
    /// <paramref name="count"/> documents of <paramref name="length"/> uniformly random token ids (seeded): what a
    /// random-weight <c>--shape</c> model can be calibrated on, since it has no text of its own.
    /// </summary>
    public static CalibrationDocuments Random(int vocabSize, int count, int length, int seed)
    {
        var random = new System.Random(seed);
        var docs = Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, length).Select(_ => random.Next(vocabSize)).ToArray()).ToList();
        return new CalibrationDocuments(docs, null, $"{count} × {length} random tokens, seed {seed}");
    }
}
