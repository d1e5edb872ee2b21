namespace Sieve.Fuzz.Mutators;

/// <summary>
/// Format-blind mutations: bit flips, interesting integers written over bytes, byte splices (a chunk copied from
/// elsewhere in the file), insertions, deletions and truncation. Structure-aware mutators call it for a share of
/// their inputs so that what the structure model cannot express is still tried.
/// </summary>
public static class ByteMutator
{
    /// <param name="focus">Mutate mostly within the first <paramref name="focus"/> bytes (a header), when given.</param>
    public static byte[] Mutate(byte[] data, Random rng, int rounds = 0, int focus = 0)
    {
        var b = new List<byte>(data);
        if (rounds == 0) rounds = 1 + rng.Next(4);
        for (int r = 0; r < rounds; r++)
        {
            int limit = focus > 0 && focus < b.Count && rng.Next(5) != 0 ? focus : b.Count;
            int Pos() => limit == 0 ? 0 : rng.Next(limit);
            switch (rng.Next(9))
            {
                case 0:
                case 1:
                    if (b.Count > 0) { int p = Pos(); b[p] ^= (byte)(1 << rng.Next(8)); }
                    break;
                case 2:
                    if (b.Count > 0) b[Pos()] = (byte)rng.Next(256);
                    break;
                case 3:   // an interesting integer, little-endian, of 1, 2, 4 or 8 bytes
                {
                    int width = 1 << rng.Next(4);
                    if (b.Count < width) break;
                    int p = Math.Min(Pos(), b.Count - width);
                    long v = Interesting.Integers[rng.Next(Interesting.Integers.Length)];
                    for (int i = 0; i < width; i++) b[p + i] = (byte)(v >> (8 * i));
                    break;
                }
                case 4:   // splice: overwrite with a chunk copied from elsewhere
                {
                    if (b.Count < 2) break;
                    int len = 1 + rng.Next(Math.Min(64, b.Count - 1));
                    int from = rng.Next(b.Count - len + 1), to = Math.Min(Pos(), b.Count - len);
                    var chunk = b.GetRange(from, len);
                    for (int i = 0; i < len; i++) b[to + i] = chunk[i];
                    break;
                }
                case 5:   // insert random or repeated bytes
                {
                    int p = b.Count == 0 ? 0 : Pos();
                    int len = 1 + rng.Next(16);
                    var ins = new byte[len];
                    if (rng.Next(2) == 0) rng.NextBytes(ins); else Array.Fill(ins, (byte)rng.Next(256));
                    b.InsertRange(p, ins);
                    break;
                }
                case 6:   // delete a run
                {
                    if (b.Count == 0) break;
                    int p = Pos();
                    b.RemoveRange(p, Math.Min(b.Count - p, 1 + rng.Next(16)));
                    break;
                }
                case 7:   // invalid UTF-8: a lone continuation byte, an overlong form or a truncated sequence
                {
                    byte[][] bad = [[0x80], [0xC0, 0xAF], [0xE2, 0x82], [0xFF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80]];
                    b.InsertRange(b.Count == 0 ? 0 : Pos(), bad[rng.Next(bad.Length)]);
                    break;
                }
                default:  // truncate
                {
                    if (b.Count == 0) break;
                    int keep = rng.Next(b.Count);
                    b.RemoveRange(keep, b.Count - keep);
                    break;
                }
            }
        }
        return b.ToArray();
    }
}
