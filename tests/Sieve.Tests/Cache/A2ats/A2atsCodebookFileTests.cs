using System.Runtime.InteropServices;
using Sieve.Cache.A2ats;
using Sieve.Formats.Gguf;
using Sieve.Models;
using Sieve.Tensors;

namespace Sieve.Tests.Cache.A2ats;

public class A2atsCodebookFileTests
{
    const int Layers = 2, KvHeads = 2, D = 8, K = 20;

    static A2atsCodebooks Small(string fingerprint = "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12")
    {
        var heads = new List<VqCodebook>();
        for (int i = 0; i < Layers * KvHeads; i++)
        {
            var acc = new QueryMetricAccumulator(D);
            acc.Add(A2atsTestData.Gaussian(200, D, seed: 50 + i, scale: t => 1 + t), 200);
            heads.Add(VqCodebook.Fit(A2atsTestData.Gaussian(300, D, seed: 60 + i), 300, D, acc.Finish(), new KMeansOptions { Clusters = K, Seed = i }));
        }
        return new A2atsCodebooks(heads, Layers, KvHeads)
        {
            Window = 1024, Sinks = 4, LocalWindow = 32, CalibrationTokens = 16384, CalibrationSha256 = new string('e', 64),
            ModelName = "tiny.gguf", ModelFingerprint = fingerprint,
        };
    }

    static string Written(A2atsCodebooks cb)
    {
        var path = Path.Combine(Fixtures.TempDir(), "codebooks.gguf");
        A2atsCodebookFile.Write(path, cb);
        return path;
    }

    static InvalidDataException Refused(string path, string problem)
    {
        var e = Assert.Throws<InvalidDataException>(() => A2atsCodebookFile.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(problem, e.Message);
        return e;
    }

    /// <summary>Overwrites 4 bytes of a tensor's element <paramref name="index"/>.</summary>
    static void Patch(string path, string tensor, int index, float value)
    {
        long at;
        using (var g = GgufFile.Open(path))
        {
            Assert.True(g.TryGetTensor(tensor, out var info));
            at = g.DataOffset + info.Offset + 4L * index;
        }
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Write);
        fs.Position = at;
        fs.Write(BitConverter.GetBytes(value));
    }

    [Fact]
    public void RoundTripKeepsEveryNumber()
    {
        var cb = Small();
        var path = Written(cb);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.partial"));
        var back = A2atsCodebookFile.Read(path);
        Assert.Equal((Layers, KvHeads, D, K), (back.LayerCount, back.KvHeadCount, back.HeadDim, back.Centroids));
        Assert.Equal((1024, 4, 32, 16384L), (back.Window, back.Sinks, back.LocalWindow, back.CalibrationTokens));
        Assert.Equal(cb.CalibrationSha256, back.CalibrationSha256);
        Assert.Equal("tiny.gguf", back.ModelName);
        Assert.Equal(cb.ModelFingerprint, back.ModelFingerprint);
        Assert.Equal(path, back.Source);
        var keys = A2atsTestData.Gaussian(50, D, seed: 77);
        var q = A2atsTestData.Gaussian(1, D, seed: 78);
        for (int l = 0; l < Layers; l++)
            for (int h = 0; h < KvHeads; h++)
            {
                VqCodebook a = cb.Head(l, h), b = back.Head(l, h);
                Assert.Equal(a.L.ToArray(), b.L.ToArray());
                Assert.Equal(a.XRows(), b.XRows());
                Assert.Equal(a.CRows(), b.CRows());
                var ca = new ushort[50]; var cbk = new ushort[50];
                a.Encode(keys, 50, D, ca); b.Encode(keys, 50, D, cbk);
                Assert.Equal(ca, cbk);
                var la = new float[a.LutLength]; var lb = new float[b.LutLength];
                a.BuildLut(q, la); b.BuildLut(q, lb);
                Assert.Equal(la, lb);
            }
    }

    [Fact]
    public void TruncatedFileIsRefused()
    {
        var path = Written(Small());
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);
        Refused(path, "truncated");
        File.WriteAllBytes(path, bytes[..10]);
        Refused(path, "truncated");
    }

    [Fact]
    public void NonFiniteValuesAreRefused()
    {
        var path = Written(Small());
        Patch(path, A2atsCodebookFile.TensorName(1, 0, "x"), 3 * D + 2, float.NaN);
        Refused(path, "layer 1 KV head 0: X(3, 2) is NaN");
        path = Written(Small());
        Patch(path, A2atsCodebookFile.TensorName(0, 1, "chol"), 0, float.PositiveInfinity);
        Refused(path, "layer 0 KV head 1: L's diagonal entry 0 is Infinity");
    }

    [Fact]
    public void CentroidsThatDisagreeWithXAreRefused()
    {
        var path = Written(Small());
        Patch(path, A2atsCodebookFile.TensorName(0, 0, "c"), 0, 1000f);
        Refused(path, "centroid 0 of C does not equal X·L⁻¹");
    }

    [Fact]
    public void WrongShapesAndFormatsAreRefused()
    {
        var dir = Fixtures.TempDir();
        // A hand-made file with the right keys but X one row short.
        string Make(string name, Action<GgufWriter> tweak, int xRows = K, uint version = 1)
        {
            var w = new GgufWriter();
            w.Add("a2ats.format_version", version);
            foreach (var (key, v) in new[] { ("layer_count", 1u), ("kv_head_count", 1u), ("head_dim", (uint)D), ("centroids", (uint)K), ("window", 2048u), ("sinks", 8u), ("local_window", 64u) })
                w.Add("a2ats." + key, v);
            w.Add("a2ats.calibration_tokens", 0UL);
            w.Add("a2ats.calibration_sha256", "");
            w.Add("a2ats.model_name", "m");
            w.Add("a2ats.model_fingerprint", "f");
            tweak(w);
            var eye = new float[D * D];
            for (int i = 0; i < D; i++) eye[i * D + i] = 1;
            w.AddTensor("a2ats.l0.h0.chol", GgmlType.F32, [D, D], s => s.Write(MemoryMarshal.AsBytes(eye.AsSpan())));
            w.AddTensor("a2ats.l0.h0.x", GgmlType.F32, [D, xRows], s => s.Write(new byte[4 * D * xRows]));
            w.AddTensor("a2ats.l0.h0.c", GgmlType.F32, [D, K], s => s.Write(new byte[4 * D * K]));
            var p = Path.Combine(dir, name);
            w.Write(p);
            return p;
        }
        // The well-formed version reads (all-zero centroids are legal), so each failure below is the tweak's.
        Assert.Equal(K, A2atsCodebookFile.Read(Make("ok.gguf", _ => { })).Centroids);
        Refused(Make("short.gguf", _ => { }, xRows: K - 1), "tensor 'a2ats.l0.h0.x' has shape [8, 19], expected [8, 20]");
        Refused(Make("v2.gguf", _ => { }, version: 2), "codebook format version 2 is not supported");

        var notGguf = Path.Combine(dir, "text.gguf");
        File.WriteAllText(notGguf, "these are not the codebooks you are looking for");
        Refused(notGguf, "not a readable A²ATS codebook file");
        // A model file is a GGUF but not codebooks.
        var e = Assert.Throws<InvalidDataException>(() => A2atsCodebookFile.Read(Fixtures.TinyRandomGguf));
        Assert.Contains("not an A²ATS codebook file", e.Message);
        Assert.Contains("'llama' model", e.Message);
    }

    static ModelConfig TinyConfig => new()
    {
        Architecture = "llama", Dim = 64, LayerCount = 2, HeadCount = 4, KvHeadCount = 2, HeadDim = 16, RopeDim = 16,
        FfnDim = 96, VocabSize = 32, ContextLength = 128,
    };

    [Fact]
    public void FingerprintsTellModelsApartAndAreStableAcrossLoads()
    {
        var c = TinyConfig;
        string a = ModelFingerprint.Of(c, RandomWeights.Create(c, GgmlType.F32, seed: 1));
        string b = ModelFingerprint.Of(c, RandomWeights.Create(c, GgmlType.F32, seed: 2));
        Assert.Equal(64, a.Length);
        Assert.NotEqual(a, b);
        // The same weights with another RoPE base are another model.
        var w = RandomWeights.Create(c, GgmlType.F32, seed: 1);
        Assert.NotEqual(ModelFingerprint.Of(c, w), ModelFingerprint.Of(c with { RopeTheta = 500000f }, w));
        Assert.Equal(ModelFingerprint.Of(c, w), ModelFingerprint.Of(c with { ContextLength = 64 }, w));

        using var first = GgufCheckpoint.Load(Fixtures.TinyRandomGguf);
        using var second = GgufCheckpoint.Load(Fixtures.TinyRandomGguf);
        Assert.Equal(ModelFingerprint.Of(first.Config, first.Weights), ModelFingerprint.Of(second.Config, second.Weights));
    }

    [Fact]
    public void CodebooksForAnotherModelAreRefused()
    {
        using var model = GgufCheckpoint.Load(Fixtures.TinyRandomGguf);
        var config = model.Config;
        string fingerprint = ModelFingerprint.Of(config, model.Weights);
        var cb = Small("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        var e = Assert.Throws<InvalidDataException>(() => cb.Validate(config, fingerprint));
        Assert.Contains("codebooks were fitted for model tiny.gguf (2 layers, 2 KV heads, head dim 8, fingerprint 0123456789ab…), not this one", e.Message);
        // Read from a file, the message names it.
        var path = Written(cb);
        var fromFile = Assert.Throws<InvalidDataException>(() => A2atsCodebookFile.Read(path).Validate(config, fingerprint));
        Assert.StartsWith(path + ": codebooks were fitted for model tiny.gguf", fromFile.Message);
        // The right shape and fingerprint pass.
        var shaped = new A2atsCodebooks(Enumerable.Repeat(cb.Head(0, 0), 2 * 2).ToList(), 2, 2) { ModelName = "m", ModelFingerprint = "x" };
        shaped.Validate(TinyConfig with { HeadDim = D }, "x");
        Assert.Throws<InvalidDataException>(() => shaped.Validate(TinyConfig with { HeadDim = D }, "y"));
    }
}
