using Sieve.Cache;
using Sieve.Cache.Sparse;
using Sieve.Cache.Storage;
using Sieve.Models;

namespace Sieve.Tests.Cache;

public class OffloadTests
{
    const int Sinks = 3, Window = 5;

    static float[] RandomRow(Random rng, int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();

    static void AssertEmpty(string dir) => Assert.Empty(Directory.GetFileSystemEntries(dir));

    /// <summary>Rows of [start, start + count) the store must read from the file: neither a sink nor in the trailing window.</summary>
    static int OutsideResident(int start, int count, int held) =>
        Enumerable.Range(start, count).Count(i => i >= Sinks && i < held - Window);

    [Theory]
    [InlineData(KvElement.F32)]
    [InlineData(KvElement.F16)]
    public void TheFileTierReturnsExactlyTheRowsWrittenAndCountsOnlyFileReads(KvElement element)
    {
        var dir = Fixtures.TempDir();
        var shape = new KvCacheShape(2, 4, 2, 16, 300);
        var rng = new Random(5);
        using (var tier = new KvOffload(dir) { ResidentSinks = Sinks, ResidentWindow = Window }.Create(shape))
        {
            var pairs = new List<(FileKvStore File, HeadStore Ram)>();
            for (int l = 0; l < 2; l++)
                for (int h = 0; h < 2; h++)
                    pairs.Add(((FileKvStore)tier.CreateStore(l, h, 16, element, false, 300), new HeadStore(16, element, false, 300)));
            foreach (var (f, r) in pairs)
                for (int t = 0; t < 300; t++)
                {
                    var k = RandomRow(rng, 16);
                    var v = RandomRow(rng, 16);
                    f.Add(t, k, v);
                    r.Add(t, k, v);
                }
            var fileTier = (FileKvTier)tier;
            fileTier.ResetReadCounters();
            long expected = 0;
            for (int i = 0; i < 400; i++)
            {
                var (f, r) = pairs[rng.Next(pairs.Count)];
                int start = rng.Next(300), count = rng.Next(1, Math.Min(40, 300 - start) + 1);
                var a = new float[count * 16];
                var b = new float[count * 16];
                bool keys = rng.Next(2) == 0;
                if (keys) { f.ReadKeys(start, count, a); r.ReadKeys(start, count, b); }
                else { f.ReadValues(start, count, a); r.ReadValues(start, count, b); }
                // Bit-exact: F32 as written, F16 through the same conversion HeadStore makes.
                Assert.Equal(b.Select(BitConverter.SingleToInt32Bits), a.Select(BitConverter.SingleToInt32Bits));
                expected += OutsideResident(start, count, 300);
            }
            Assert.Equal(expected, fileTier.RowsRead);
            Assert.Equal(expected * 16 * (element == KvElement.F32 ? 4 : 2), fileTier.BytesRead);
            Assert.Equal(fileTier.RowsRead, fileTier.KeyRowsRead + fileTier.ValueRowsRead);

            // The sinks and the trailing window come from RAM: reading only them touches nothing in the file.
            fileTier.ResetReadCounters();
            var row = new float[16 * Window];
            foreach (var (f, _) in pairs)
            {
                f.ReadKeys(0, Sinks, row);
                f.ReadValues(300 - Window, Window, row);
                Assert.True(f.IsResident(0) && f.IsResident(299) && !f.IsResident(Sinks) && !f.IsResident(299 - Window));
                Assert.Equal(300L * 2 * 16 * (element == KvElement.F32 ? 4 : 2), f.OffloadedBytes);
            }
            Assert.Equal(0, fileTier.RowsRead);
            AssertEmpty(dir);
        }
        AssertEmpty(dir);
    }

    [Theory]
    [InlineData(KvElement.F32)]
    [InlineData(KvElement.F16)]
    public void GatheringASelectionEqualsReadingItsRowsOneByOne(KvElement element)
    {
        // GroupAttention reads a step's selection in one gather (runs together, rows ahead prefetched): every store
        // must return the rows a row-by-row read returns, in the order asked, and the file tier count only its own.
        var dir = Fixtures.TempDir();
        var rng = new Random(11);
        using var tier = (FileKvTier)new KvOffload(dir) { ResidentSinks = Sinks, ResidentWindow = Window }.Create(new KvCacheShape(1, 2, 1, 16, 300));
        var f = (FileKvStore)tier.CreateStore(0, 0, 16, element, false, 300);
        var r = new HeadStore(16, element, false, 300);
        for (int t = 0; t < 300; t++)
        {
            var k = RandomRow(rng, 16);
            var v = RandomRow(rng, 16);
            f.Add(t, k, v);
            r.Add(t, k, v);
        }
        IKvStore[] stores = [f, r];
        for (int trial = 0; trial < 50; trial++)
        {
            // Sinks and the ring first (as selectors list them), then scattered picks with runs of consecutive slots.
            var slots = new List<int> { 0, 1, 298, 299 };
            for (int s = Sinks; s < 300 - Window; s++) if (rng.NextDouble() < 0.2) slots.Add(s);
            if (trial == 0) slots = Enumerable.Range(0, 300).ToList();
            long fileRows = slots.Count(s => s >= Sinks && s < 300 - Window);
            foreach (var store in stores)
                foreach (bool keys in new[] { true, false })
                {
                    tier.ResetReadCounters();
                    var gathered = new float[slots.Count * 16];
                    if (keys) store.GatherKeys(slots.ToArray(), gathered);
                    else store.GatherValues(slots.ToArray(), gathered);
                    var row = new float[16];
                    for (int i = 0; i < slots.Count; i++)
                    {
                        if (keys) r.ReadKey(slots[i], row); else r.ReadValue(slots[i], row);
                        Assert.Equal(row.Select(BitConverter.SingleToInt32Bits), gathered.Skip(i * 16).Take(16).Select(BitConverter.SingleToInt32Bits));
                    }
                    Assert.Equal(store == f ? fileRows : 0, tier.RowsRead);
                }
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => f.GatherKeys([5, 300], new float[32]));
        Assert.Throws<ArgumentOutOfRangeException>(() => r.GatherValues([-1], new float[16]));
        Assert.Throws<ArgumentException>(() => f.GatherKeys([5, 6], new float[16]));
    }

    [Fact]
    public void KeepOnlyAndTruncateMatchTheInMemoryStore()
    {
        var dir = Fixtures.TempDir();
        var rng = new Random(9);
        using var tier = (FileKvTier)new KvOffload(dir) { ResidentSinks = Sinks, ResidentWindow = Window }.Create(new KvCacheShape(1, 2, 1, 8, 200));
        var f = (FileKvStore)tier.CreateStore(0, 0, 8, KvElement.F16, trackPositions: true, 200);
        var r = new HeadStore(8, KvElement.F16, trackPositions: true, 200);
        void Add(int pos) { var k = RandomRow(rng, 8); var v = RandomRow(rng, 8); f.Add(pos, k, v); r.Add(pos, k, v); }
        void Same()
        {
            Assert.Equal(r.Count, f.Count);
            var a = new float[f.Count * 8];
            var b = new float[f.Count * 8];
            f.ReadKeys(0, f.Count, a); r.ReadKeys(0, r.Count, b);
            Assert.Equal(b, a);
            f.ReadValues(0, f.Count, a); r.ReadValues(0, r.Count, b);
            Assert.Equal(b, a);
            for (int s = 0; s < f.Count; s++) Assert.Equal(r.PositionOf(s), f.PositionOf(s));
            for (int p = -1; p < 130; p++) Assert.Equal(r.CountUpTo(p), f.CountUpTo(p));
        }
        for (int t = 0; t < 100; t++) Add(t);
        var keep = Enumerable.Range(0, 100).Where(_ => rng.Next(3) == 0).ToArray();
        f.KeepOnly(keep, 20);
        r.KeepOnly(keep, 20);
        Same();
        for (int t = 100; t < 120; t++) Add(t);
        Same();
        f.Truncate(f.Count - 7);
        r.Truncate(r.Count - 7);
        Same();
        for (int t = 113; t < 125; t++) Add(t);   // refills the window the truncation emptied
        Same();
    }

    static readonly int[] LongPrompt = Enumerable.Range(0, 200).Select(i => 1 + (i * 97 + 13) % 500).ToArray();

    [Theory]
    [InlineData("quest")]
    [InlineData("exact-topk")]
    public void AnOffloadedCacheGivesTheLogitsOfTheSameCacheInRamAndReadsOnlyWhatItAttends(string method)
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var dir = Fixtures.TempDir();
        var shape = m.Runner().Model.CacheShape(LongPrompt.Length + 8);
        ITokenSelector selector = method == "quest" ? new QuestSelector() : new ExactTopKSelector();
        var ram = new SparseKvOptions { Selector = selector, Budget = KvBudget.OfTokens(32), RecentCap = 2, Sinks = 4, LocalWindow = 16, Trace = true };
        using var inRam = new SparseKvCache(shape, ram, m.Runner().Pool);
        using var offloaded = new SparseKvCache(shape, ram with { Tier = new KvOffload(dir) { ResidentSinks = 2, ResidentWindow = 8 } }, m.Runner().Pool);
        var stores = Enumerable.Range(0, shape.Layers).SelectMany(l => Enumerable.Range(0, shape.KvHeads).Select(h => (FileKvStore)offloaded.Store(l, h))).ToList();

        Assert.Equal(m.Runner().Prefill(LongPrompt, 0, inRam).ToArray(), m.Runner().Prefill(LongPrompt, 0, offloaded).ToArray());
        AssertEmpty(dir);   // the file is open and mapped, and not in the directory
        for (int i = 0; i < 6; i++)
        {
            int pos = LongPrompt.Length + i, token = 300 + i * 7;
            stores.ForEach(s => s.ResetReadCounters());
            var expected = m.Runner().Decode(token, pos, inRam).ToArray();
            Assert.Equal(expected, m.Runner().Decode(token, pos, offloaded).ToArray());
            if (i == 0) continue;   // the first decode step crosses the boundary: Quest's Build reads every key once
            for (int l = 0; l < shape.Layers; l++)
                for (int h = 0; h < shape.KvHeads; h++)
                {
                    var store = (FileKvStore)offloaded.Store(l, h);
                    var sel = offloaded.LastSelection(l, h)!;
                    Assert.Equal(pos, sel.Position);
                    // No press: slots are positions. Attention reads each attended key and value once.
                    var attended = sel.Always.Concat(sel.Selected).ToArray();
                    int attendedFromFile = attended.Count(s => !store.IsResident(s));
                    // Exact top-K also scores every candidate's key (that is what makes it an oracle, not a saving).
                    int scoredFromFile = method == "exact-topk" ? sel.Candidates.Count(s => !store.IsResident(s)) : 0;
                    Assert.Equal(attendedFromFile + scoredFromFile, store.KeyRowsRead);
                    Assert.Equal(attendedFromFile, store.ValueRowsRead);
                    Assert.True(attendedFromFile > 0 && sel.Selected.Length < sel.Candidates.Length, "the step read something from the file, and not everything");
                }
        }
        var mem = offloaded.Memory;
        Assert.True(mem.OffloadedBytes > 0 && mem.Bytes < inRam.Memory.Bytes, $"offloaded: {mem.Bytes} B in RAM, {mem.OffloadedBytes} B in the file; in RAM: {inRam.Memory.Bytes} B");
        offloaded.Dispose();
        AssertEmpty(dir);
    }

    [UnixFact, System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void TheFileIsPrivateUnlinkedWhileOpenAndGoneAfterDispose()
    {
        var dir = Fixtures.TempDir();
        var tier = (FileKvTier)new KvOffload(dir).Create(new KvCacheShape(2, 2, 2, 8, 64));
        var store = tier.CreateStore(0, 1, 8, KvElement.F32, false, 64);
        store.Add(0, new float[8], new float[8]);
        Assert.NotNull(tier.FilePath);
        Assert.StartsWith("sieve-kv-", Path.GetFileName(tier.FilePath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tier.Handle!));
        Assert.Equal(2L * 2 * 2 * 64 * 8 * 4, tier.FileBytes);
        AssertEmpty(dir);   // unlinked the moment it was opened: a crash or a kill cannot leave it behind
        tier.Dispose();
        AssertEmpty(dir);
        Assert.Throws<ObjectDisposedException>(() => store.ReadKeys(0, 1, new float[8]));
    }

    [Fact]
    public void AMissingDirectoryOrAFileIsRefusedByName()
    {
        var dir = Fixtures.TempDir();
        var shape = new KvCacheShape(1, 1, 1, 8, 16);
        var missing = Path.Combine(dir, "nope");
        var e = Assert.Throws<DirectoryNotFoundException>(() => new KvOffload(missing).Create(shape));
        Assert.Equal($"--kv-offload {missing}: no such directory", e.Message);
        var file = Path.Combine(dir, "a-file");
        File.WriteAllText(file, "x");
        var f = Assert.Throws<ArgumentException>(() => new KvOffload(file).Create(shape));
        Assert.Equal($"--kv-offload {file}: is a file, not a directory", f.Message);
        Assert.Equal(["a-file"], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName));
    }

    [LinuxFact]
    public void ADirectoryNobodyCanWriteIsRefused()
    {
        // /proc refuses new files even to root, so this runs whoever runs the tests (ENOENT on create).
        var e = Assert.Throws<IOException>(() => new KvOffload("/proc").Create(new KvCacheShape(1, 1, 1, 8, 16)));
        Assert.StartsWith("--kv-offload /proc: not writable", e.Message);
    }

    [NotWritableDirectoryFact, System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void AReadOnlyDirectoryIsRefusedAndKeepsNothing()
    {
        var dir = Fixtures.TempDir();
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserExecute);   // 0500
        try
        {
            Assert.ThrowsAny<UnauthorizedAccessException>(() => File.Create(Path.Combine(dir, "premise")).Dispose());   // the premise
            var e = Assert.Throws<IOException>(() => new SparseKvCache(new KvCacheShape(1, 1, 1, 8, 16), new SparseKvOptions { Tier = new KvOffload(dir) }));
            Assert.StartsWith($"--kv-offload {dir}: not writable", e.Message);
            AssertEmpty(dir);
        }
        finally { File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); }
    }

    [Fact]
    public void ACacheTheDiskCannotHoldIsRefusedWithBothSizesAndNoFileLeft()
    {
        var dir = Fixtures.TempDir();
        // 8 layers × 8 KV heads × 2^30 rows × 1024 dims × 2 (K, V) × 2 bytes: 256 TiB, more than any test disk has free.
        var shape = new KvCacheShape(8, 8, 8, 1024, 1 << 30);
        long free = new DriveInfo(Path.GetFullPath(dir)).AvailableFreeSpace;
        Assert.True(free < 256L << 40, $"premise: the disk has less than 256 TiB free ({free} B)");
        var e = Assert.Throws<IOException>(() => new SparseKvCache(shape, new SparseKvOptions { Tier = new KvOffload(dir) }));
        Assert.Matches(@"^--kv-offload .*: the disk has [\d.]+ GiB free, this cache needs 262144 GiB$", e.Message);
        AssertEmpty(dir);
    }
}

/// <summary>A fact that needs Unix file modes and unlink-while-open.</summary>
public sealed class UnixFactAttribute : FactAttribute
{
    public UnixFactAttribute() { if (OperatingSystem.IsWindows()) Skip = "Unix file modes and unlink-while-open only"; }
}

/// <summary>A fact that needs Linux's /proc.</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute() { if (!OperatingSystem.IsLinux()) Skip = "needs Linux's /proc"; }
}

/// <summary>
/// A fact that needs a directory its user cannot write: a 0500 directory is one, except to root, who writes it anyway.
/// The premise is probed, not assumed; when it fails the test reports itself skipped, saying why
/// (<see cref="OffloadTests.ADirectoryNobodyCanWriteIsRefused"/> covers the case for root).
/// </summary>
public sealed class NotWritableDirectoryFactAttribute : FactAttribute
{
    public NotWritableDirectoryFactAttribute()
    {
        if (OperatingSystem.IsWindows()) { Skip = "Unix file modes only"; return; }
        var dir = Fixtures.TempDir();
        try
        {
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            File.Create(Path.Combine(dir, "probe")).Dispose();
            Skip = "a 0500 directory is writable here (running as root: probed), so no directory can be made unwritable";
        }
        catch (UnauthorizedAccessException) { }
        finally
        {
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            Directory.Delete(dir, recursive: true);
        }
    }
}
