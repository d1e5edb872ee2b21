using Sieve.Formats;
using Sieve.Formats.Conversion;
using Sieve.Formats.HuggingFace;
using Sieve.Tensors;

namespace Sieve.Tests.Formats;

/// <summary>
/// Model files are untrusted: a truncated file or flipped bits in its header must load or fail with a
/// <see cref="ModelFileException"/> — never another exception, a hang, a huge allocation, or a view outside the file.
/// </summary>
public class CorruptionTests(Xunit.Abstractions.ITestOutputHelper output)
{
    const long MaxAllocation = 256L << 20;
    static readonly TimeSpan MaxLoadTime = TimeSpan.FromSeconds(10);

    /// <summary>Outcome counts, so a test can also check that the corruptions were actually refused.</summary>
    sealed class Tally { public int Loaded, Refused; public override string ToString() => $"{Loaded} loaded, {Refused} refused"; }

    /// <summary>Loads once under a time bound and an allocation bound; every weight view must lie in its file.</summary>
    static void Probe(Func<IDisposable> load, string what, Tally tally)
    {
        Exception? failure = null;
        bool loaded = false;
        var task = Task.Run(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                using var x = load();
                if (x is LoadedCheckpoint ck) CheckViews(ck);
                loaded = true;
            }
            catch (ModelFileException) { }
            catch (Exception e) { failure = e; }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocated > MaxAllocation) failure ??= new Exception($"allocated {allocated} bytes");
        });
        if (!task.Wait(MaxLoadTime)) Assert.Fail($"{what}: no result within {MaxLoadTime.TotalSeconds} s");
        if (failure != null) Assert.Fail($"{what}: {failure}");
        if (loaded) tally.Loaded++; else tally.Refused++;
    }

    static unsafe void CheckViews(LoadedCheckpoint ck)
    {
        var storage = ck.Resources.OfType<IWeightStorage>().ToList();
        var w = ck.Weights;
        var all = new List<WeightTensor> { w.TokenEmbedding, w.Output };
        foreach (var l in w.Layers) all.AddRange([l.Wq, l.Wk, l.Wv, l.Wo, l.Gate, l.Up, l.Down]);
        foreach (var t in all)
        {
            if (!storage.Any(s => s.Covers(t))) throw new Exception($"tensor '{t.Name}' ({t.ByteLength} bytes) lies outside its file");
            // Read it all: a view into unmapped memory would crash here rather than in a forward pass.
            byte x = 0;
            for (int r = 0; r < t.Rows; r++) { var row = t.Row(r); x ^= row[0]; x ^= row[^1]; }
            GC.KeepAlive(x);
        }
    }

    /// <summary>A scratch folder holding copies of <paramref name="original"/>'s siblings (a model folder's other files).</summary>
    static string ScratchWithSiblings(string original)
    {
        string dir = Fixtures.TempDir();
        foreach (var f in Directory.GetFiles(Path.GetDirectoryName(original)!))
            if (f != original) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    static void Truncations(string original, Func<string, IDisposable> load, int headerBytes, Random rng, int count, Tally tally,
        bool withSiblings = false)
    {
        var bytes = File.ReadAllBytes(original);
        var cuts = new SortedSet<int> { 0, 1, 3, 4, 7, 8, 9, 16, 23, 24, 27, 28, 32, 255, 256, bytes.Length - 1, bytes.Length - 4 };
        while (cuts.Count < count)
            cuts.Add(rng.Next(2) == 0 ? rng.Next(Math.Min(headerBytes + 64, bytes.Length)) : rng.Next(bytes.Length));
        string dir = withSiblings ? ScratchWithSiblings(original) : Fixtures.TempDir();
        string path = Path.Combine(dir, Path.GetFileName(original));
        foreach (int cut in cuts.Where(c => c < bytes.Length))
        {
            File.WriteAllBytes(path, bytes[..cut]);
            Probe(() => load(path), $"{original} cut at {cut}", tally);
        }
        Directory.Delete(dir, recursive: true);
    }

    static void BitFlips(string original, Func<string, IDisposable> load, int regionStart, int regionEnd, Random rng, int copies, Tally tally,
        string? copyName = null)
    {
        var bytes = File.ReadAllBytes(original);
        // Sibling files (a folder's safetensors, say) come along so only the chosen file is corrupt.
        string dir = copyName == null ? ScratchWithSiblings(original) : Fixtures.TempDir();
        string path = Path.Combine(dir, copyName ?? Path.GetFileName(original));
        for (int i = 0; i < copies; i++)
        {
            var copy = (byte[])bytes.Clone();
            int flips = 1 + rng.Next(4);
            var where = new List<int>();
            for (int k = 0; k < flips; k++)
            {
                int at = rng.Next(regionStart, Math.Min(regionEnd, copy.Length));
                copy[at] ^= (byte)(1 << rng.Next(8));
                where.Add(at);
            }
            File.WriteAllBytes(path, copy);
            Probe(() => load(path), $"{original} with bits flipped at {string.Join(", ", where)}", tally);
        }
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void Stories260KGguf()
    {
        var rng = new Random(1);
        var tally = new Tally();
        const int dataOffset = 14176;   // PROVENANCE-gguf.md
        Truncations(Fixtures.Stories260KGguf, CheckpointLoader.Load, dataOffset, rng, 80, tally);
        Assert.Equal(0, tally.Loaded);
        // Flips anywhere in the header, and more in the part with counts, types and the tensor directory.
        BitFlips(Fixtures.Stories260KGguf, CheckpointLoader.Load, 0, dataOffset, rng, 150, tally, "model.gguf");
        BitFlips(Fixtures.Stories260KGguf, CheckpointLoader.Load, 0, 64, rng, 60, tally, "model.gguf");
        BitFlips(Fixtures.Stories260KGguf, CheckpointLoader.Load, 11000, dataOffset, rng, 100, tally, "model.gguf");
        Assert.True(tally.Refused > 150, $"only {tally.Refused} corrupt files were refused");
        output.WriteLine($"Stories260KGguf: {tally}");
    }

    [Fact]
    public void TinyRandomGguf()
    {
        var rng = new Random(2);
        var tally = new Tally();
        var header = (int)Sieve.Formats.Gguf.GgufFile.Open(Fixtures.TinyRandomGguf).DataOffset;
        Truncations(Fixtures.TinyRandomGguf, CheckpointLoader.Load, header, rng, 30, tally);
        BitFlips(Fixtures.TinyRandomGguf, CheckpointLoader.Load, 0, 256, rng, 40, tally, "model.gguf");
        BitFlips(Fixtures.TinyRandomGguf, CheckpointLoader.Load, header - 1200, header, rng, 60, tally, "model.gguf");
        output.WriteLine($"TinyRandomGguf: {tally}");
    }

    [Fact]
    public void LegacyBin()
    {
        var rng = new Random(3);
        var tally = new Tally();
        Truncations(Fixtures.Stories260KBin, CheckpointLoader.Load, 28, rng, 40, tally);
        Assert.Equal(0, tally.Loaded);
        BitFlips(Fixtures.Stories260KBin, CheckpointLoader.Load, 0, 28, rng, 150, tally, "model.bin");
        Assert.True(tally.Refused > 150);
        output.WriteLine($"LegacyBin: {tally}");
    }

    [Fact]
    public void Version1Bin()
    {
        var rng = new Random(4);
        var tally = new Tally();
        Truncations(Fixtures.Stories260KV1Bin, CheckpointLoader.Load, 256, rng, 40, tally);
        Assert.Equal(0, tally.Loaded);
        BitFlips(Fixtures.Stories260KV1Bin, CheckpointLoader.Load, 0, 40, rng, 150, tally, "model.bin");
        BitFlips(Fixtures.Stories260KV1Bin, CheckpointLoader.Load, 0, 256, rng, 40, tally, "model.bin");
        output.WriteLine($"Version1Bin: {tally}");
    }

    static string MakeHfFolder()
    {
        using var src = CheckpointLoader.Load(Fixtures.Stories260KGguf);
        string folder = Fixtures.TempDir();
        ModelConverter.ToHuggingFace(src, folder);
        return folder;
    }

    [Fact]
    public void SafeTensorsAndConfigJson()
    {
        var rng = new Random(5);
        var tally = new Tally();
        string folder = MakeHfFolder();
        string st = Path.Combine(folder, "model.safetensors");
        string cfg = Path.Combine(folder, "config.json");
        int header;
        using (var f = SafeTensorsFile.Open(st)) header = (int)f.DataOffset;

        IDisposable LoadFolderOf(string path) => CheckpointLoader.Load(Path.GetDirectoryName(path)!);
        Truncations(st, LoadFolderOf, header, rng, 40, tally, withSiblings: true);
        Assert.Equal(0, tally.Loaded);
        BitFlips(st, LoadFolderOf, 0, header, rng, 150, tally);
        BitFlips(st, LoadFolderOf, 0, 12, rng, 30, tally);
        Truncations(cfg, LoadFolderOf, 700, rng, 30, tally, withSiblings: true);
        BitFlips(cfg, LoadFolderOf, 0, (int)new FileInfo(cfg).Length, rng, 120, tally);
        Assert.True(tally.Refused > 200);

        // The GPT-2 fixture's safetensors, read directly (its config is refused before the weights are opened).
        string gpt2 = Path.Combine(Fixtures.Gpt2Folder, "model.safetensors");
        BitFlips(gpt2, p => SafeTensorsFile.Open(p), 0, 8 + 1392, rng, 100, tally, "model.safetensors");
        Truncations(gpt2, p => SafeTensorsFile.Open(p), 1400, rng, 20, tally);
        output.WriteLine($"SafeTensorsAndConfigJson: {tally}");
    }

    [Fact]
    public void ShardIndexCannotEscapeTheFolder()
    {
        string folder = MakeHfFolder();
        File.Move(Path.Combine(folder, "model.safetensors"), Path.Combine(folder, "model-00001-of-00001.safetensors"));
        string index = Path.Combine(folder, "model.safetensors.index.json");
        using (var st = SafeTensorsFile.Open(Path.Combine(folder, "model-00001-of-00001.safetensors")))
        {
            var map = string.Join(",", st.Tensors.Keys.Select(k => $"\"{k}\": \"model-00001-of-00001.safetensors\""));
            File.WriteAllText(index, $"{{\"metadata\": {{}}, \"weight_map\": {{{map}}}}}");
        }
        using (var ok = CheckpointLoader.Load(folder)) Assert.Equal(5, ok.Config.LayerCount);

        File.WriteAllText(index, "{\"weight_map\": {\"model.embed_tokens.weight\": \"../../etc/passwd.safetensors\"}}");
        Assert.Contains("not a .safetensors file in the same folder", Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(folder)).Message);
        File.WriteAllText(index, "{\"weight_map\": {\"model.embed_tokens.weight\": \"missing.safetensors\"}}");
        Assert.Contains("file not found", Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(folder)).Message);
        File.WriteAllText(index, "{\"weight_map\": [1, 2]}");
        Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(folder));
    }

    [Fact]
    public void SafeTensorsHeaderChecks()
    {
        string dir = Fixtures.TempDir();
        string path = Path.Combine(dir, "t.safetensors");
        void Write(string json, int dataBytes)
        {
            var h = System.Text.Encoding.UTF8.GetBytes(json);
            File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)h.Length), .. h, .. new byte[dataBytes]]);
        }
        string Refusal(string json, int dataBytes)
        {
            Write(json, dataBytes);
            return Assert.Throws<ModelFileException>(() => SafeTensorsFile.Open(path).Dispose()).Message;
        }
        Assert.Contains("span", Refusal("{\"a\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 20]}}", 24));
        Assert.Contains("outside", Refusal("{\"a\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [8, 32]}}", 24));
        Assert.Contains("malformed", Refusal("{\"a\": ", 0));
        Assert.Contains("appears twice", Refusal("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4));
        Assert.Contains("overflow", Refusal("{\"a\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 4294967296], \"data_offsets\": [0, 4]}}", 4), StringComparison.OrdinalIgnoreCase);

        // An I64 tensor is a valid file but cannot be used as a weight: refused by dtype name.
        Write("{\"ids\": {\"dtype\": \"I64\", \"shape\": [2], \"data_offsets\": [0, 16]}, \"w\": {\"dtype\": \"BF16\", \"shape\": [2, 4], \"data_offsets\": [16, 32]}}", 32);
        using var f = SafeTensorsFile.Open(path);
        Assert.Contains("dtype I64", Assert.Throws<ModelFileException>(() => f.View("ids")).Message);
        var w = f.View("w");
        Assert.Equal((2, 4, GgmlType.BF16), (w.Rows, w.Cols, w.Type));
    }
}
