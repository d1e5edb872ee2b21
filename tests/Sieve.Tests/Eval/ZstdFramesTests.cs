using Sieve.Eval.Tasks;

namespace Sieve.Tests.Eval;

/// <summary>
/// Zstandard pages of Parquet task files: a streaming encoder (arrow-rs) records no content size, so the bound of
/// such a frame is 128 KiB a block; pages written that way must still load, and many tiny blocks must not.
/// </summary>
public class ZstdFramesTests
{
    /// <summary>One frame without a content size (window descriptor only), holding <paramref name="blocks"/> raw blocks.</summary>
    static byte[] UnsizedFrame(int blocks, int bytesPerBlock)
    {
        var b = new List<byte> { 0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x50 };   // magic, FHD (no size, not single-segment), window
        for (int i = 0; i < blocks; i++)
        {
            int h = bytesPerBlock << 3 | (i == blocks - 1 ? 1 : 0);      // raw block, last flag on the final one
            b.AddRange([(byte)h, (byte)(h >> 8), (byte)(h >> 16)]);
            b.AddRange(new byte[bytesPerBlock]);
        }
        return [.. b];
    }

    [Theory]
    [InlineData(1, 5000)]        // a 5,000-byte page: bound 128 KiB, refused before the fix ("may hold 131072 bytes in a page of 5000")
    [InlineData(8, 125_000)]     // a 1,000,000-byte page in 8 blocks: bound 1 MiB
    public void AStreamingFrameWithoutAContentSizeFitsItsPage(int blocks, int bytesPerBlock)
    {
        var frame = UnsizedFrame(blocks, bytesPerBlock);
        ulong page = (ulong)(blocks * bytesPerBlock);
        ulong allowed = ZstdFrames.AllowedBound(page);
        ulong bound = ZstdFrames.DecompressedBound(frame, allowed);
        Assert.Equal((ulong)blocks * (128 << 10), bound);
        Assert.True(bound > page, "premise: the block bound exceeds the page's exact size");
        Assert.True(bound <= allowed);
    }

    [Fact]
    public void ManyTinyBlocksClaimingFarMoreThanThePageAreOverTheBound()
    {
        // 1,000 one-byte blocks in a 1,000-byte page: ZstdSharp would allocate 1,000 × 128 KiB = 125 MiB.
        var frame = UnsizedFrame(1000, 1);
        ulong allowed = ZstdFrames.AllowedBound(1000);
        Assert.True(ZstdFrames.DecompressedBound(frame, allowed) > allowed);
        Assert.True(allowed <= 256 << 10);
    }
}
