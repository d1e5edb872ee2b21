using System.Buffers.Binary;

namespace Sieve.Fuzz.Mutators;

/// <summary>
/// Mutates a Parquet task file written by Parquet.Net. Parquet ends with the Thrift-encoded footer, its int32 length
/// and "PAR1"; each column chunk starts with a Thrift page header whose i32 fields (0x15 = field delta 1, type i32)
/// hold the page type and the uncompressed and compressed page sizes. Mutations: the footer length field, the magic
/// at either end, Thrift varints in the footer and in page headers replaced by huge or negative ones, bytes inside
/// the footer, truncation, and plain byte damage anywhere.
/// </summary>
public static class ParquetTaskMutator
{
    public static byte[] Mutate(byte[] file, Random rng)
    {
        if (file.Length < 12) return ByteMutator.Mutate(file, rng);
        var b = new List<byte>(file);
        int footerLen = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(file.Length - 8));
        int footerStart = footerLen > 0 && footerLen < file.Length - 12 ? file.Length - 8 - footerLen : 4;
        int rounds = 1 + rng.Next(3);
        for (int r = 0; r < rounds; r++)
        {
            switch (rng.Next(7))
            {
                case 0:   // footer length
                {
                    int v = (int)Interesting.Integer(rng, footerLen);
                    int at = b.Count - 8;
                    if (at < 0) break;
                    for (int i = 0; i < 4; i++) b[at + i] = (byte)(v >> (8 * i));
                    break;
                }
                case 1:   // magic
                {
                    int at = rng.Next(2) == 0 ? rng.Next(Math.Min(4, b.Count)) : b.Count - 1 - rng.Next(Math.Min(4, b.Count));
                    b[at] ^= (byte)(1 << rng.Next(8));
                    break;
                }
                case 2:   // a Thrift varint in the footer
                    ReplaceVarint(b, footerStart + rng.Next(Math.Max(1, Math.Min(b.Count - 8, file.Length - 8) - footerStart)), rng);
                    break;
                case 3:   // a page header size: a 0x15 field header in the data region, its varint replaced
                {
                    var candidates = Enumerable.Range(4, Math.Max(0, Math.Min(b.Count, footerStart) - 5)).Where(i => b[i] == 0x15).ToList();
                    if (candidates.Count > 0) ReplaceVarint(b, candidates[rng.Next(candidates.Count)] + 1, rng);
                    break;
                }
                case 4:   // bytes in the footer
                {
                    int at = footerStart + rng.Next(Math.Max(1, b.Count - 8 - footerStart));
                    if (at < b.Count) b[at] = rng.Next(2) == 0 ? (byte)rng.Next(256) : (byte)(b[at] ^ (1 << rng.Next(8)));
                    break;
                }
                case 5:
                {
                    int keep = rng.Next(b.Count);
                    b.RemoveRange(keep, b.Count - keep);
                    if (rng.Next(2) == 0) b.AddRange(file.AsSpan(file.Length - 8).ToArray());   // keep a tail that looks valid
                    break;
                }
                default:
                    return ByteMutator.Mutate(b.ToArray(), rng);
            }
            if (b.Count < 12) break;
        }
        return b.ToArray();
    }

    /// <summary>Overwrites the varint at <paramref name="at"/> with a zigzag varint of an interesting value.</summary>
    static void ReplaceVarint(List<byte> b, int at, Random rng)
    {
        if (at < 0 || at >= b.Count) return;
        int end = at;
        while (end < b.Count && end - at < 10 && (b[end] & 0x80) != 0) end++;
        if (end < b.Count) end++;
        long v = Interesting.Integer(rng, 100);
        ulong zigzag = (ulong)((v << 1) ^ (v >> 63));
        var encoded = new List<byte>();
        do { byte x = (byte)(zigzag & 0x7F); zigzag >>= 7; encoded.Add(zigzag != 0 ? (byte)(x | 0x80) : x); } while (zigzag != 0);
        b.RemoveRange(at, end - at);
        b.InsertRange(at, encoded);
    }
}
