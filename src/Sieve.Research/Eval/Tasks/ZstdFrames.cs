using System.Buffers.Binary;

namespace Sieve.Eval.Tasks;

/// <summary>
/// The most a Zstandard stream may decompress to, read from its frame and block headers (RFC 8878 §3.1) the way
/// zstd's <c>ZSTD_decompressBound</c> reads it: a frame's declared content size, or 128 KiB for each of its blocks
/// when it declares none. ZstdSharp allocates this much before decoding, so it is checked first.
/// </summary>
public static class ZstdFrames
{
    const uint FrameMagic = 0xFD2FB528, SkippableMask = 0xFFFFFFF0, SkippableMagic = 0x184D2A50;
    const ulong MaxBlock = 128 << 10;

    /// <summary>
    /// The bound a page of <paramref name="pageBytes"/> may show: streaming encoders (arrow-rs, the Rust parquet crate)
    /// record no content size, so their frames are bounded at 128 KiB a block — the page rounded up to whole blocks,
    /// plus one block of slack. A declared size past that is refused; the allocation stays within a block of the
    /// page's own (already limited) size.
    /// </summary>
    public static ulong AllowedBound(ulong pageBytes) => (pageBytes + MaxBlock - 1) / MaxBlock * MaxBlock + MaxBlock;

    static void Need(ReadOnlySpan<byte> s, int p, int n)
    {
        if (n > s.Length - p) throw new InvalidDataException("a Zstandard frame runs past the page's end");
    }

    /// <exception cref="InvalidDataException">the bytes are not a sequence of well-formed frames.</exception>
    /// <param name="stopAbove">Returns as soon as the bound passes this, before reading further frames.</param>
    public static ulong DecompressedBound(ReadOnlySpan<byte> s, ulong stopAbove = ulong.MaxValue)
    {
        ulong total = 0;
        int p = 0;
        if (s.IsEmpty) throw new InvalidDataException("an empty Zstandard stream");
        while (p < s.Length)
        {
            Need(s, p, 4);
            uint magic = BinaryPrimitives.ReadUInt32LittleEndian(s[p..]);
            p += 4;
            if ((magic & SkippableMask) == SkippableMagic)
            {
                Need(s, p, 4);
                uint skip = BinaryPrimitives.ReadUInt32LittleEndian(s[p..]);
                p += 4;
                if (skip > (uint)(s.Length - p)) throw new InvalidDataException("a skippable Zstandard frame runs past the page's end");
                p += (int)skip;
                continue;
            }
            if (magic != FrameMagic) throw new InvalidDataException($"0x{magic:X8} is not a Zstandard frame");
            Need(s, p, 1);
            byte fhd = s[p++];
            if ((fhd & 0x08) != 0) throw new InvalidDataException("a Zstandard frame header with its reserved bit set");
            int fcsFlag = fhd >> 6;
            bool singleSegment = (fhd & 0x20) != 0, checksum = (fhd & 0x04) != 0;
            int dictBytes = (fhd & 3) switch { 0 => 0, 1 => 1, 2 => 2, _ => 4 };
            int fcsBytes = fcsFlag switch { 0 => singleSegment ? 1 : 0, 1 => 2, 2 => 4, _ => 8 };
            int headerRest = (singleSegment ? 0 : 1) + dictBytes + fcsBytes;
            Need(s, p, headerRest);
            p += headerRest - fcsBytes;
            ulong? size = fcsBytes switch
            {
                0 => null,
                1 => s[p],
                2 => BinaryPrimitives.ReadUInt16LittleEndian(s[p..]) + 256u,
                4 => BinaryPrimitives.ReadUInt32LittleEndian(s[p..]),
                _ => BinaryPrimitives.ReadUInt64LittleEndian(s[p..]),
            };
            p += fcsBytes;
            ulong blocks = 0;
            while (true)
            {
                Need(s, p, 3);
                int h = s[p] | s[p + 1] << 8 | s[p + 2] << 16;
                p += 3;
                int type = (h >> 1) & 3, blockSize = h >> 3;
                if (type == 3) throw new InvalidDataException("a Zstandard block of the reserved type");
                int stored = type == 1 ? 1 : blockSize;
                Need(s, p, stored);
                p += stored;
                blocks++;
                if ((h & 1) != 0) break;
            }
            if (checksum) { Need(s, p, 4); p += 4; }
            ulong frame = size ?? blocks * MaxBlock;
            total = frame > ulong.MaxValue - total ? ulong.MaxValue : total + frame;
            if (total > stopAbove) return total;
        }
        return total;
    }
}
