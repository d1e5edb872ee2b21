using Sieve.Eval.Tasks;
using Sieve.Formats;

namespace Sieve.Tests.Eval;

/// <summary>Allocation deltas are process-wide, so these run alone, after the parallel tests.</summary>
[CollectionDefinition(nameof(ParquetTaskGuardTests), DisableParallelization = true)]
public sealed class ParquetGuardCollection;

/// <summary>
/// Bad Parquet task files end as <see cref="ModelFileException"/> naming the file, within a bounded time and
/// without a large allocation (issue 8 item 6: a 937-byte file hung the reader, an 803-byte one allocated 768 MiB).
/// </summary>
[Collection(nameof(ParquetTaskGuardTests))]
public class ParquetTaskGuardTests
{
    const long AllocationBound = 256L << 20;
    static readonly TimeSpan HangBound = TimeSpan.FromSeconds(20);

    /// <summary>Loads <paramref name="bytes"/> as a task file; returns the exception, asserting time and allocation bounds.</summary>
    internal static Exception? Load(byte[] bytes, string name = "task.parquet")
    {
        var dir = Fixtures.TempDir();
        try
        {
            var path = Path.Combine(dir, name);
            File.WriteAllBytes(path, bytes);
            long before = GC.GetTotalAllocatedBytes(precise: true);
            var run = Task.Run(() => { try { McqTask.Load(path); return null; } catch (Exception e) { return e; } });
            Assert.True(run.Wait(HangBound), $"{name}: loading did not finish within {HangBound.TotalSeconds} s");
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            Assert.True(allocated < AllocationBound, $"{name}: loading allocated {allocated >> 20} MiB");
            return run.Result;
        }
        finally { Directory.Delete(dir, true); }
    }

    internal static void AssertRefused(byte[] bytes, string because)
    {
        var e = Load(bytes, "bad.parquet");
        Assert.NotNull(e);
        Assert.True(e is ModelFileException, $"{because}: {e.GetType().Name}: {e.Message}");
        Assert.Contains("bad.parquet", e.Message);
    }

    [Fact]
    public void TheHandBuiltFileLoadsAsBoolq()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var path = Path.Combine(dir, "boolq.parquet");
            File.WriteAllBytes(path, new TinyParquet().Build());
            var s = McqTask.Load(path);
            Assert.Equal(2, s.Count);
            Assert.Equal("The sky is blue.\nQuestion: is the sky blue?\nAnswer:", s[0].Context);
            Assert.Equal(1, s[0].Gold);
            Assert.Equal(0, s[1].Gold);
        }
        finally { Directory.Delete(dir, true); }
    }

    public static TheoryData<string> BadFiles => new(BadCases.Keys);

    static readonly Dictionary<string, Func<byte[]>> BadCases = new()
    {
        ["row group claims 100M rows"] = () => new TinyParquet { RowGroupNumRows = 100_000_000, FileNumRows = 100_000_000 }.Build(),
        ["chunk claims 50M values"] = () => new TinyParquet { ChunkNumValues = 50_000_000 }.Build(),
        ["page claims 768 MiB uncompressed"] = () => new TinyParquet { PageUncompressedSize = 768 << 20 }.Build(),
        ["page compressed size negative (loops back)"] = () => new TinyParquet { PageCompressedSize = -40 }.Build(),
        ["chunk values never reached (reads to EOF)"] = () => new TinyParquet { ChunkNumValues = 3 }.Build(),
        ["page claims 2^30 values"] = () => new TinyParquet { PageNumValues = 1 << 30 }.Build(),
        ["dictionary page claims 2^28 entries"] = () => new TinyParquet { DictionaryEntries = 1 << 28 }.Build(),
        ["schema list claims 100M elements"] = () => new TinyParquet { FooterEdit = f => SetSchemaListCount(f, 100_000_000) }.Build(),
        ["column list claims 100M chunks"] = () => new TinyParquet { ListCountOverride = 100_000_000 }.Build(),
        ["footer cut short"] = () => new TinyParquet { FooterEdit = f => f[..(f.Length / 2)] }.Build(),
        ["footer length past the start"] = () => new TinyParquet { FooterLengthOverride = 1 << 20 }.Build(),
        ["footer length negative"] = () => new TinyParquet { FooterLengthOverride = -5 }.Build(),
        ["data page offset past the end"] = () => new TinyParquet { DataPageOffset = 1 << 30 }.Build(),
        ["chunk size past the footer"] = () => new TinyParquet { ChunkCompressedSize = 1 << 30 }.Build(),
        ["schema children beyond the list"] = () => new TinyParquet { SchemaNumChildren = 1000 }.Build(),
        ["unknown page type"] = () => new TinyParquet { PageType = 9 }.Build(),
        ["unknown codec"] = () => new TinyParquet { Codec = 77 }.Build(),
        ["snappy page whose stream claims 768 MiB"] = () => new TinyParquet { Codec = 1 }.Build(),
    };

    static byte[] SetSchemaListCount(byte[] footer, int count)
    {
        // Footer starts: 0x15 (field 1 i32) version varint, then 0x19 (field 2 list) and the list header 0x4C.
        int at = Array.IndexOf(footer, (byte)0x4C);
        var header = new MemoryStream();
        header.WriteByte(0xFC);
        TinyParquet.WriteVarint(header, (ulong)count);
        return [.. footer[..at], .. header.ToArray(), .. footer[(at + 1)..]];
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void BadFileIsRefusedCleanly(string name) => AssertRefused(BadCases[name](), name);
}
