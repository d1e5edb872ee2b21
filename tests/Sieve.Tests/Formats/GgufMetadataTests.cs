using System.Text;
using Sieve.Formats;
using Sieve.Formats.Gguf;
using Sieve.Tensors;

namespace Sieve.Tests.Formats;

/// <summary>
/// GGUF metadata arrays are untrusted counts: they are stored typed (an array of N UInt16 costs 2N bytes, not N
/// boxed objects), their element type is checked before anything is allocated, and every count is checked against
/// the bytes left in the file first.
/// </summary>
public class GgufMetadataTests
{
    /// <summary>Hand-written GGUF headers, for inputs the writer would never produce.</summary>
    sealed class RawGguf
    {
        readonly MemoryStream _s = new();
        readonly BinaryWriter _w;

        public RawGguf(ulong tensorCount, ulong kvCount)
        {
            _w = new BinaryWriter(_s);
            _w.Write(GgufFile.Magic);
            _w.Write(3u);
            _w.Write(tensorCount);
            _w.Write(kvCount);
        }

        public RawGguf Str(string s) { var b = Encoding.UTF8.GetBytes(s); _w.Write((ulong)b.Length); _w.Write(b); return this; }
        public RawGguf U32(uint v) { _w.Write(v); return this; }
        public RawGguf U64(ulong v) { _w.Write(v); return this; }
        public RawGguf U16(ushort v) { _w.Write(v); return this; }
        public RawGguf Zeros(int n) { _w.Write(new byte[n]); return this; }

        public string Save()
        {
            _w.Flush();
            string path = Path.Combine(Fixtures.TempDir(), "crafted.gguf");
            File.WriteAllBytes(path, _s.ToArray());
            return path;
        }
    }

    /// <summary>Runs <paramref name="load"/> and returns the bytes this thread allocated meanwhile.</summary>
    static long Allocated(Action load)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        load();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Fact]
    public void EightMillionUInt16ArrayLoadsTypedInProportionalMemory()
    {
        const int n = 8 << 20;
        var values = new ushort[n];
        for (int i = 0; i < n; i++) values[i] = unchecked((ushort)(i * 7919));
        string path = GgufRewrite.Copy(Fixtures.Stories260KGguf, m => m["test.big_u16"] = values);
        values = null!;

        LoadedCheckpoint? ck = null;
        long allocated = Allocated(() => ck = CheckpointLoader.Load(path));
        using (ck)
        {
            // 16 MiB of values plus the model's own small copies; one boxed object per element would be ~200 MB.
            Assert.True(allocated < 64L << 20, $"loading allocated {allocated:N0} bytes");
            var read = ck!.Gguf!.GetArray<ushort>("test.big_u16")!;
            Assert.Equal(n, read.Length);
            for (int i = 0; i < n; i += 9973) Assert.Equal(unchecked((ushort)(i * 7919)), read[i]);
            Assert.Equal(unchecked((ushort)((n - 1) * 7919)), read[^1]);
        }
    }

    [Fact]
    public void EveryElementTypeIsReadAsATypedArray()
    {
        var w = new GgufWriter();
        w.Add("u8", new byte[] { 1, 255 });
        w.Add("i8", new sbyte[] { -1, 2 });
        w.Add("u16", new ushort[] { 1, 65535 });
        w.Add("i16", new short[] { -30000, 5 });
        w.Add("u32", new[] { 1u, 4000000000u });
        w.Add("i32", new[] { -7, 7 });
        w.Add("u64", new[] { ulong.MaxValue, 3ul });
        w.Add("i64", new[] { long.MinValue, 3L });
        w.Add("f32", new[] { 1.5f, -0f });
        w.Add("f64", new[] { Math.PI, -1e300 });
        w.Add("bool", new[] { true, false });
        w.Add("str", new[] { "", "▁a" });
        w.Add("empty_u16", Array.Empty<ushort>());
        string path = Path.Combine(Fixtures.TempDir(), "typed.gguf");
        w.Write(path);
        using var g = GgufFile.Open(path);
        Assert.Equal(new byte[] { 1, 255 }, g.GetArray<byte>("u8"));
        Assert.Equal(new sbyte[] { -1, 2 }, g.GetArray<sbyte>("i8"));
        Assert.Equal(new ushort[] { 1, 65535 }, g.GetArray<ushort>("u16"));
        Assert.Equal(new short[] { -30000, 5 }, g.GetArray<short>("i16"));
        Assert.Equal(new[] { 1u, 4000000000u }, g.GetArray<uint>("u32"));
        Assert.Equal(new[] { -7, 7 }, g.GetArray<int>("i32"));
        Assert.Equal(new[] { ulong.MaxValue, 3ul }, g.GetArray<ulong>("u64"));
        Assert.Equal(new[] { long.MinValue, 3L }, g.GetArray<long>("i64"));
        Assert.Equal(new[] { 1.5f, -0f }, g.GetArray<float>("f32"));
        Assert.Equal(new[] { Math.PI, -1e300 }, g.GetArray<double>("f64"));
        Assert.Equal(new[] { true, false }, g.GetArray<bool>("bool"));
        Assert.Equal(new[] { "", "▁a" }, g.GetArray<string>("str"));
        Assert.Empty(g.GetArray<ushort>("empty_u16")!);
    }

    [Fact]
    public void UnknownElementTypeIsRefusedBeforeAnythingIsAllocated()
    {
        // 32 MiB of bytes after the count: the old reader allocated an object[] of 32 Mi slots (256 MiB)
        // before it looked at the element type.
        const int padding = 32 << 20;
        string path = new RawGguf(0, 1).Str("x").U32((uint)GgufValueType.Array).U32(99).U64(padding).Zeros(padding).Save();
        ModelFileException? e = null;
        long allocated = Allocated(() => e = Assert.Throws<ModelFileException>(() => GgufFile.Open(path)));
        Assert.True(allocated < 1 << 20, $"refusing allocated {allocated:N0} bytes");
        Assert.Contains(path, e!.Message);
        Assert.Contains("'x'", e.Message);
        Assert.Contains("99", e.Message);

        // And a count no file could hold, with an unknown type: the type is what is named.
        string huge = new RawGguf(0, 1).Str("y").U32((uint)GgufValueType.Array).U32(13).U64(ulong.MaxValue).Save();
        var e2 = Assert.Throws<ModelFileException>(() => GgufFile.Open(huge));
        Assert.Contains("13", e2.Message);
    }

    [Theory]
    [InlineData(GgufValueType.String, 8)]
    [InlineData(GgufValueType.UInt64, 8)]
    [InlineData(GgufValueType.Float32, 4)]
    [InlineData(GgufValueType.UInt16, 2)]
    [InlineData(GgufValueType.Bool, 1)]
    [InlineData(GgufValueType.Array, 12)]
    public void ACountWhoseElementsCannotFitIsRefusedWithoutAllocating(GgufValueType type, int minBytes)
    {
        // Room for 1,000,000 minimal elements but a count of one more than fits.
        const int room = 1_000_000;
        string path = new RawGguf(0, 1).Str("a").U32((uint)GgufValueType.Array).U32((uint)type)
            .U64((ulong)room + 1).Zeros(room * minBytes).Save();
        ModelFileException? e = null;
        long allocated = Allocated(() => e = Assert.Throws<ModelFileException>(() => GgufFile.Open(path)));
        Assert.True(allocated < 1 << 20, $"refusing allocated {allocated:N0} bytes");
        Assert.Contains("'a'", e!.Message);
    }

    [Fact]
    public void NestedArraysAreReadTypedAndBounded()
    {
        // [[1, 2, 3] as UInt16, ["hi"]]
        string path = new RawGguf(0, 1).Str("nested").U32((uint)GgufValueType.Array)
            .U32((uint)GgufValueType.Array).U64(2)
            .U32((uint)GgufValueType.UInt16).U64(3).U16(1).U16(2).U16(3)
            .U32((uint)GgufValueType.String).U64(1).Str("hi")
            .Save();
        using (var g = GgufFile.Open(path))
        {
            var outer = g.GetArray<Array>("nested")!;
            Assert.Equal(2, outer.Length);
            Assert.Equal(new ushort[] { 1, 2, 3 }, Assert.IsType<ushort[]>(outer[0]));
            Assert.Equal(new[] { "hi" }, Assert.IsType<string[]>(outer[1]));
        }

        // Arrays nested a thousand deep are refused (not a stack overflow).
        var deep = new RawGguf(0, 1).Str("deep").U32((uint)GgufValueType.Array);
        for (int i = 0; i < 1000; i++) deep.U32((uint)GgufValueType.Array).U64(1);
        deep.U32((uint)GgufValueType.UInt8).U64(0);
        var e = Assert.Throws<ModelFileException>(() => GgufFile.Open(deep.Save()));
        Assert.Contains("'deep'", e.Message);
        Assert.Contains("nested", e.Message);
    }

    [Fact]
    public void TensorAndKeyCountsAreCheckedAgainstTheFileBeforeAllocating()
    {
        string tensors = new RawGguf(1 << 20, 0).Zeros(64).Save();
        long allocated = Allocated(() => Assert.Throws<ModelFileException>(() => GgufFile.Open(tensors)));
        Assert.True(allocated < 1 << 20, $"refusing allocated {allocated:N0} bytes");
        string keys = new RawGguf(0, 1 << 20).Zeros(64).Save();
        allocated = Allocated(() => Assert.Throws<ModelFileException>(() => GgufFile.Open(keys)));
        Assert.True(allocated < 1 << 20, $"refusing allocated {allocated:N0} bytes");
    }
}
