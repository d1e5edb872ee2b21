using Sieve.Formats.Gguf;
using Sieve.Tensors;

namespace Sieve.Tests.Formats;

public class GgufWriterTests
{
    [Fact]
    public void RoundTripsEveryValueTypeAndTensors()
    {
        var w = new GgufWriter();
        w.Add("general.architecture", "llama");
        w.Add("u8", (byte)200);
        w.Add("i8", (sbyte)-5);
        w.Add("u16", (ushort)60000);
        w.Add("i16", (short)-30000);
        w.Add("u32", 4000000000u);
        w.Add("i32", -2000000000);
        w.Add("u64", ulong.MaxValue);
        w.Add("i64", long.MinValue);
        w.Add("f32", 1.5f);
        w.Add("f64", Math.PI);
        w.Add("bool", true);
        w.Add("str", "héllo ▁world");
        w.Add("strings", new[] { "a", "", "▁b" });
        w.Add("floats", new[] { 1f, -2.5f, float.MaxValue });
        w.Add("ints", new[] { 1, -2, 3 });
        w.Add("uints", new[] { 1u, 2u });
        w.Add("longs", new[] { 1L, -2L });
        w.Add("bytes", new byte[] { 1, 2, 255 });
        w.Add("sbytes", new sbyte[] { -1, 2 });
        w.Add("bools", new[] { true, false, true });
        w.Add("doubles", new[] { 0.25, -1e300 });
        w.Add("u16s", new ushort[] { 1, 65535 });
        w.Add("empty", new GgufArray(GgufValueType.Int32, Array.Empty<int>()));

        var matrix = new float[3 * 5];
        for (int i = 0; i < matrix.Length; i++) matrix[i] = i * 0.5f - 3;
        var norm = new float[] { 1, 2, 3, 4, 5 };
        w.AddTensor("m", GgmlType.F32, [5, 3], s => s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(matrix.AsSpan())));
        w.AddTensor("n", norm);   // 20 bytes: the next tensor needs padding to 32
        var half = new Half[64];
        for (int i = 0; i < half.Length; i++) half[i] = (Half)(i / 8.0);
        w.AddTensor("h", GgmlType.F16, [64], s => s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(half.AsSpan())));

        string path = Path.Combine(Fixtures.TempDir(), "rt.gguf");
        var reports = new List<double>();
        w.Write(path, new SyncProgress(reports.Add));
        Assert.Equal(1.0, reports[^1]);
        Assert.False(File.Exists(path + $".{Environment.ProcessId}.partial"));

        using var g = GgufFile.Open(path);
        Assert.Equal(3u, g.Version);
        Assert.Equal((byte)200, g.Metadata["u8"]);
        Assert.Equal((sbyte)-5, g.Metadata["i8"]);
        Assert.Equal((ushort)60000, g.Metadata["u16"]);
        Assert.Equal((short)-30000, g.Metadata["i16"]);
        Assert.Equal(4000000000u, g.Metadata["u32"]);
        Assert.Equal(-2000000000, g.Metadata["i32"]);
        Assert.Equal(ulong.MaxValue, g.Metadata["u64"]);
        Assert.Equal(long.MinValue, g.Metadata["i64"]);
        Assert.Equal(1.5f, g.Metadata["f32"]);
        Assert.Equal(Math.PI, g.Metadata["f64"]);
        Assert.Equal(true, g.Metadata["bool"]);
        Assert.Equal("héllo ▁world", g.GetString("str"));
        Assert.Equal(new[] { "a", "", "▁b" }, g.GetArray<string>("strings"));
        Assert.Equal(new[] { 1f, -2.5f, float.MaxValue }, g.GetArray<float>("floats"));
        Assert.Equal(new[] { 1, -2, 3 }, g.GetArray<int>("ints"));
        Assert.Equal(new[] { 1u, 2u }, g.GetArray<uint>("uints"));
        Assert.Equal(new[] { 1L, -2L }, g.GetArray<long>("longs"));
        Assert.Equal(new byte[] { 1, 2, 255 }, g.GetArray<byte>("bytes"));
        Assert.Equal(new sbyte[] { -1, 2 }, g.GetArray<sbyte>("sbytes"));
        Assert.Equal(new[] { true, false, true }, g.GetArray<bool>("bools"));
        Assert.Equal(new[] { 0.25, -1e300 }, g.GetArray<double>("doubles"));
        Assert.Equal(new ushort[] { 1, 65535 }, g.GetArray<ushort>("u16s"));
        Assert.Empty(g.GetArray<int>("empty")!);

        Assert.Equal(0, g.DataOffset % 32);
        Assert.All(g.Tensors, t => Assert.Equal(0, t.Offset % 32));
        var m = g.Tensor("m");
        Assert.Equal((3, 5, GgmlType.F32), (m.Rows, m.Cols, m.Type));
        Assert.Equal(matrix, m.ToFloat32());
        Assert.Equal(norm, g.Tensor("n").ToFloat32());
        Assert.Equal(half.Select(x => (float)x), g.Tensor("h").ToFloat32());
    }

    [Fact]
    public void RewritingAFixtureGivesTheSameMetadataAndTensors()
    {
        using var src = GgufFile.Open(Fixtures.TinyRandomGguf);
        var w = new GgufWriter();
        foreach (var (k, v) in src.Metadata) w.Add(k, v);
        foreach (var t in src.Tensors)
        {
            var view = src.View(t);
            w.AddTensor(t.Name, t.Type, t.Dims, s => { for (int r = 0; r < view.Rows; r++) s.Write(view.Row(r)); });
        }
        string path = Path.Combine(Fixtures.TempDir(), "copy.gguf");
        w.Write(path);
        using var g = GgufFile.Open(path);
        Assert.Equal(src.Metadata.Keys.Order(), g.Metadata.Keys.Order());
        foreach (var (k, v) in src.Metadata)
        {
            if (v is Array a) Assert.Equal(a.Cast<object>(), ((Array)g.Metadata[k]).Cast<object>());
            else Assert.Equal(v, g.Metadata[k]);
        }
        Assert.Equal(src.Tensors.Select(t => t.Name), g.Tensors.Select(t => t.Name));
        foreach (var t in src.Tensors) CheckpointAssert.SameBytes(src.View(t), g.Tensor(t.Name));
    }

    [Fact]
    public void TensorCallbacksMustWriteExactlyTheirSize()
    {
        var dir = Fixtures.TempDir();
        var w = new GgufWriter();
        w.AddTensor("short", GgmlType.F32, [4], s => s.Write(new byte[12]));
        Assert.Throws<InvalidOperationException>(() => w.Write(Path.Combine(dir, "a.gguf")));
        Assert.False(File.Exists(Path.Combine(dir, "a.gguf")));
        Assert.Empty(Directory.GetFiles(dir));   // the partial file is gone too
        var w2 = new GgufWriter();
        w2.AddTensor("long", GgmlType.F32, [4], s => s.Write(new byte[20]));
        Assert.Throws<InvalidOperationException>(() => w2.Write(Path.Combine(dir, "b.gguf")));
        Assert.Throws<ArgumentException>(() => new GgufWriter().AddTensor("q", GgmlType.Q8_0, [33], _ => { }));
        Assert.Throws<ArgumentException>(() => new GgufWriter().Add("x", new object()));
        Assert.Throws<ArgumentException>(() => new GgufWriter().Add("x", new object[] { 1, "a" }));
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; tests want the calls inline.</summary>
    sealed class SyncProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}
