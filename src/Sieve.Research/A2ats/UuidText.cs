using Sieve.Tokenization;

namespace Sieve.A2ats;

/// <summary>
/// The A²ATS reference's second calibration text, made here instead of downloaded: random version-4 UUIDs joined by
/// ", " (method notes §2.3: 128·1024 of them, truncated to 16K tokens, prefilled in 2048-token chunks). Keys of such
/// text are nothing like prose's; they widen the codebooks to the retrieval-style inputs long-context tasks hold.
/// </summary>
public static class UuidText
{
    /// <summary>UUIDs tokenized at a time: the text grows by this many until it holds enough tokens.</summary>
    const int Batch = 256;

    /// <summary>A random-UUID string of the RFC 4122 version-4 form (seeded, so calibration is reproducible).</summary>
    public static string Uuid4(Random rng)
    {
        Span<byte> b = stackalloc byte[16];
        rng.NextBytes(b);
        b[6] = (byte)((b[6] & 0x0F) | 0x40);   // version 4
        b[8] = (byte)((b[8] & 0x3F) | 0x80);   // variant 10xx
        var h = Convert.ToHexStringLower(b);
        return $"{h[..8]}-{h[8..12]}-{h[12..16]}-{h[16..20]}-{h[20..]}";
    }

    /// <summary>
    /// <paramref name="tokens"/> tokens of ", "-joined UUIDs, with BOS. Tokenized a batch of 256 UUIDs at a time (the
    /// reference tokenizes the whole 4.7 MB string once): a token that would span two batches' seam is split there,
    /// one in 256 UUIDs — no matter for statistics of keys.
    /// </summary>
    public static int[] Tokens(TextTokenizer tokenizer, int tokens, int seed = 0)
    {
        if (tokens < 2) throw new ArgumentException($"--uuid-tokens {tokens}: at least 2");
        var rng = new Random(seed);
        var result = new List<int>(tokens + 64);
        result.AddRange(tokenizer.Encode(""));   // BOS (or nothing, for a tokenizer that adds none)
        var text = new System.Text.StringBuilder();
        bool first = true;
        while (result.Count < tokens)
        {
            text.Clear();
            for (int i = 0; i < Batch; i++, first = false) text.Append(first ? "" : ", ").Append(Uuid4(rng));
            result.AddRange(tokenizer.Encode(text.ToString(), addBos: false));
        }
        return result.GetRange(0, tokens).ToArray();
    }
}
