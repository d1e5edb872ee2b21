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
        // Regenerates tests/fixtures/bad-tasks (see its PROVENANCE.md).
        if (Environment.GetEnvironmentVariable("SIEVE_WRITE_BAD_TASKS") is string save)
            File.WriteAllBytes(Path.Combine(save, string.Concat(because.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')).Replace("--", "-").Trim('-') + ".parquet"), bytes);
        var e = Load(bytes, "bad.parquet");
        Assert.NotNull(e);
        if (Environment.GetEnvironmentVariable("SIEVE_PRINT_REFUSALS") is string log) File.AppendAllText(log, $"{because}\t{e.GetType().Name}: {e.Message}\n");
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
        ["chunk values never reached (reads to EOF)"] = () => new TinyParquet { ChunkNumValues = 3, RowGroupNumRows = 3, FileNumRows = 3 }.Build(),
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
        // Snappy's preamble is its output length as a varint: 0x80 0x80 0x80 0x80 0x03 = 768 MiB.
        ["snappy stream claims 768 MiB"] = () => new TinyParquet { Codec = 1, PageDataPrefix = [0x80, 0x80, 0x80, 0x80, 0x03] }.Build(),
        // A Zstandard frame (magic 28 B5 2F FD) whose 4-byte content size (descriptor 0xA0: single segment) is 768 MiB.
        ["zstd frame claims 768 MiB"] = () => new TinyParquet { Codec = 6, PageDataPrefix = [0x28, 0xB5, 0x2F, 0xFD, 0xA0, 0, 0, 0, 0x30, 0x01, 0, 0] }.Build(),
        ["gzip page claims 2000x expansion"] = () => new TinyParquet { Codec = 2, PageUncompressedSize = 2000 * 40 }.Build(),
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

    public static TheoryData<string> CommittedBadFiles =>
        new(Directory.GetFiles(Path.Combine(Fixtures.Dir, "bad-tasks"), "*.parquet").Select(Path.GetFileName).Order()!);

    [Fact]
    public void TheRegressionFilesAreThere() => Assert.True(CommittedBadFiles.Count >= 10);

    [Theory]
    [MemberData(nameof(CommittedBadFiles))]
    public void CommittedRegressionFileIsRefusedCleanly(string file) =>
        AssertRefused(File.ReadAllBytes(Path.Combine(Fixtures.Dir, "bad-tasks", file)), file);

    [Fact]
    public void RunningOutOfTimeIsAClearErrorNamingTheFile()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var path = Path.Combine(dir, "slow.parquet");
            File.WriteAllBytes(path, new TinyParquet().Build());
            var e = Assert.Throws<ModelFileException>(() => McqParquet.Load(path, timeLimit: TimeSpan.Zero));
            Assert.Contains("slow.parquet", e.Message);
            Assert.Contains("took longer than 0 s", e.Message);
            Assert.Equal(2, McqParquet.Load(path).Count);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AnExceptionInsideTheReaderNamesTheFile()
    {
        // A well-formed file whose column holds a string where the layout wants a number: Parquet.Net throws its own
        // exception type, which must come out as the project's, naming the file.
        var bytes = new TinyParquet().Build();
        var e = Load(bytes, "wrongformat.parquet");
        Assert.Null(e);
        var dir = Fixtures.TempDir();
        try
        {
            var path = Path.Combine(dir, "wrongformat.parquet");
            File.WriteAllBytes(path, bytes);
            var ex = Assert.Throws<ModelFileException>(() => McqTask.Load(path, "mmlu"));
            Assert.Contains("wrongformat.parquet", ex.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
