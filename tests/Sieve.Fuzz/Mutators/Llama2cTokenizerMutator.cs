using System.Text;

namespace Sieve.Fuzz.Mutators;

/// <summary>
/// Mutates a llama2.c <c>tokenizer.bin</c> (int32 max_token_length, then per token a float32 score, an int32 length
/// and the bytes): max_token_length, scores (NaN, ±Inf), length fields that disagree with the bytes (negative, huge),
/// the bytes themselves (empty, long, invalid UTF-8), tokens dropped or duplicated, and the file truncated.
/// </summary>
public static class Llama2cTokenizerMutator
{
    sealed class Token
    {
        public float Score;
        public int? LengthField;
        public byte[] Bytes = [];
    }

    public static byte[] Mutate(byte[] file, Random rng)
    {
        if (file.Length < 4 || rng.Next(8) == 0) return ByteMutator.Mutate(file, rng, focus: 64);
        int maxLen = BitConverter.ToInt32(file);
        var tokens = new List<Token>();
        int p = 4;
        while (p + 8 <= file.Length)
        {
            float score = BitConverter.ToSingle(file, p);
            int len = BitConverter.ToInt32(file, p + 4);
            if (len < 0 || (long)p + 8 + len > file.Length) break;
            tokens.Add(new Token { Score = score, Bytes = file[(p + 8)..(p + 8 + len)] });
            p += 8 + len;
        }
        if (tokens.Count == 0) return ByteMutator.Mutate(file, rng);
        int rounds = 1 + rng.Next(3);
        for (int r = 0; r < rounds && tokens.Count > 0; r++)
        {
            var t = tokens[rng.Next(tokens.Count)];
            switch (rng.Next(8))
            {
                case 0: maxLen = (int)Interesting.Integer(rng, maxLen); break;
                case 1: t.Score = new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, -0f }[rng.Next(5)]; break;
                case 2: t.LengthField = (int)Interesting.Integer(rng, t.Bytes.Length); break;
                case 3: t.Bytes = rng.Next(3) switch { 0 => [], 1 => Encoding.UTF8.GetBytes(new string('x', 1 << rng.Next(4, 16))), _ => [.. t.Bytes, 0xFF] }; break;
                case 4: tokens.RemoveRange(rng.Next(tokens.Count), 1); break;
                case 5: { int keep = rng.Next(tokens.Count); tokens.RemoveRange(keep, tokens.Count - keep); break; }
                case 6: tokens.Insert(rng.Next(tokens.Count), new Token { Score = t.Score, Bytes = t.Bytes }); break;
                default: t.Bytes = Encoding.UTF8.GetBytes(new[] { "<0x0A>", "<0xZZ>", "<s>", "</s>", "<unk>", " ", "\0", "▁" }[rng.Next(8)]); break;
            }
        }
        var w = new MemoryStream();
        var bw = new BinaryWriter(w);
        bw.Write(maxLen);
        foreach (var t in tokens)
        {
            bw.Write(t.Score);
            bw.Write(t.LengthField ?? t.Bytes.Length);
            bw.Write(t.Bytes);
        }
        bw.Flush();
        var bytes = w.ToArray();
        return rng.Next(10) == 0 ? bytes[..rng.Next(bytes.Length + 1)] : bytes;
    }
}
