using System.Buffers.Binary;

namespace Sieve.Fuzz.Mutators;

/// <summary>
/// Mutates a llama2.c checkpoint: the seven header ints (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size
/// — negative means an unshared classifier — and seq_len) of a legacy file, or the "ak42" magic, version, ints and
/// shared-classifier flag of a version 1 header; the file truncated or extended; NaN/Inf written into the weights.
/// </summary>
public static class Llama2cCheckpointMutator
{
    const uint V1Magic = 0x616b3432;

    public static byte[] Mutate(byte[] file, Random rng)
    {
        var b = (byte[])file.Clone();
        bool v1 = b.Length >= 8 && BinaryPrimitives.ReadUInt32LittleEndian(b) == V1Magic;
        int intsAt = v1 ? 8 : 0;
        int rounds = 1 + rng.Next(2);
        for (int r = 0; r < rounds; r++)
        {
            switch (rng.Next(v1 ? 8 : 6))
            {
                case 0: case 1: case 2:   // one header int
                {
                    int k = rng.Next(7), at = intsAt + 4 * k;
                    if (at + 4 > b.Length) break;
                    int old = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(at));
                    long v = k == 5 && rng.Next(3) == 0 ? -(long)old : Interesting.Integer(rng, old);   // vocab: flip the shared-classifier sign
                    BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(at), (int)v);
                    break;
                }
                case 3:
                    b = rng.Next(2) == 0 ? b[..rng.Next(b.Length + 1)] : b[..Math.Max(0, b.Length - 1 - rng.Next(4096))];
                    break;
                case 4:
                    b = [.. b, .. new byte[1 + rng.Next(rng.Next(2) == 0 ? 16 : 65536)]];
                    break;
                case 5:
                    for (int k = 0; k < 1 + rng.Next(32) && b.Length >= 260; k++)
                        BitConverter.TryWriteBytes(b.AsSpan(256 + (rng.Next(b.Length - 260) & ~3)), new[] { float.NaN, float.PositiveInfinity, -3e38f }[rng.Next(3)]);
                    break;
                case 6:   // v1: version or magic
                    if (rng.Next(2) == 0) BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), (int)new long[] { 0, 2, 3, -1, int.MaxValue }[rng.Next(5)]);
                    else b[rng.Next(4)] ^= (byte)(1 << rng.Next(8));
                    break;
                default:  // v1: the shared-classifier flag byte
                    if (b.Length > 36) b[36] = (byte)new[] { 0, 1, 2, 255 }[rng.Next(4)];
                    break;
            }
        }
        return rng.Next(6) == 0 ? ByteMutator.Mutate(b, rng, focus: v1 ? 256 : 28) : b;
    }
}
