using Sieve.Formats;
using Sieve.Formats.Gguf;
using Sieve.Kernels;
using Sieve.Models;
using Sieve.Tensors;
using Sieve.Tests.Cli;
using Sieve.Tokenization;

namespace Sieve.Tests.Formats;

/// <summary>Files that parse but that Sieve would run wrongly or fail on later: refused at load, naming what is wrong.</summary>
public class GgufRefusalTests
{
    [Fact]
    public void AByteTokenWhoseTextIsNotAHexByteIsRefused()
    {
        string path = GgufRewrite.Copy(Fixtures.Stories260KGguf, m =>
        {
            var types = ((int[])m["tokenizer.ggml.token_type"]).ToArray();
            var tokens = (string[])m["tokenizer.ggml.tokens"];
            Assert.Equal(6, types[3]);          // <0x00>: a real byte token, which stays accepted
            Assert.False(tokens[300].StartsWith("<0x", StringComparison.Ordinal));
            types[300] = (int)TokenType.Byte;
            m["tokenizer.ggml.token_type"] = types;
        });
        using var g = GgufFile.Open(path);
        string text = g.GetArray<string>("tokenizer.ggml.tokens")![300];
        var e = Assert.Throws<ModelFileException>(() => TokenizerFactory.FromGguf(g));
        Assert.Contains(path, e.Message);
        Assert.Contains("300", e.Message);
        Assert.Contains(text, e.Message);
        Assert.Throws<ModelFileException>(() => SieveModel.Load(path));
    }

    /// <summary>tiny-k-f32.gguf with one matrix stored as <paramref name="type"/>.</summary>
    static string TinyKWith(string tensorName, GgmlType type) =>
        GgufRewrite.Copy(Fixtures.TinyK("f32"), tensor: (src, t) =>
        {
            if (t.Name != tensorName) return null;
            var view = src.View(t);
            var info = TypeTraits.Of(type);
            var bytes = new byte[info.RowBytes(view.Cols) * view.Rows];
            var row = new float[view.Cols];
            for (int r = 0; r < view.Rows; r++)
            {
                Dequantize.Row(view.Type, view.Row(r), row);
                Quantize.Row(type, row, bytes.AsSpan((int)(r * info.RowBytes(view.Cols)), (int)info.RowBytes(view.Cols)));
            }
            return (type, bytes);
        });

    [Fact]
    public void AWeightOfATypeWithNoDotProductIsRefusedAtLoadNamingTheTensor()
    {
        string path = TinyKWith("blk.1.ffn_up.weight", GgmlType.Q8_K);
        var e = Assert.Throws<ModelFileException>(() => CheckpointLoader.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("blk.1.ffn_up.weight", e.Message);
        Assert.Contains("Q8_K", e.Message);
        Assert.Throws<ModelFileException>(() => SieveModel.Load(path));

        // The CLI says so in one line, for run and for info alike.
        foreach (var args in new[] { new[] { "run", "-m", path, "-p", "Hello", "-n", "2" }, ["info", "-m", path] })
        {
            var r = CliRunner.Run(args);
            Assert.Equal(1, r.ExitCode);
            var lines = r.Stderr.Trim().Split('\n');
            Assert.Single(lines);
            Assert.StartsWith("error: ", lines[0]);
            Assert.Contains("blk.1.ffn_up.weight", lines[0]);
            Assert.Contains("Q8_K", lines[0]);
        }
    }

    [Fact]
    public unsafe void EveryTypeTheLoaderAcceptsHasADotProductKernel()
    {
        foreach (GgmlType type in Enum.GetValues<GgmlType>())
        {
            if (!TypeTraits.TryGet(type, out var info)) continue;
            int n = 256;
            var w = new byte[info.RowBytes(n)];
            var x = new byte[TypeTraits.Of(info.VecDotType).RowBytes(n)];
            bool hasKernel;
            fixed (byte* pw = w, px = x)
            {
                try { VecDot.Dot(type, pw, px, n); hasKernel = true; }
                catch (NotSupportedException) { hasKernel = false; }
            }
            Assert.True(hasKernel == info.Supported, $"{info.Name}: Supported is {info.Supported} but a dot-product kernel {(hasKernel ? "exists" : "does not")}");
        }
    }
}
