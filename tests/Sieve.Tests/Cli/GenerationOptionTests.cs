using Sieve.Formats.Conversion;
using Sieve.Generation;
using Sieve.Models;

namespace Sieve.Tests.Cli;

/// <summary>The library refuses the same meaningless values the command line does, for callers that bypass it.</summary>
public class GenerationOptionTests
{
    public static IEnumerable<object[]> BadSampling() =>
    [
        [new SamplingOptions { Temperature = float.NaN }, "temperature"],
        [new SamplingOptions { Temperature = -1 }, "temperature"],
        [new SamplingOptions { TopP = float.NaN }, "top-p"],
        [new SamplingOptions { MinP = 2 }, "min-p"],
        [new SamplingOptions { TopK = -5 }, "top-k"],
        [new SamplingOptions { RepeatPenalty = 0 }, "repeat penalty"],
        [new SamplingOptions { RepeatPenalty = float.NaN }, "repeat penalty"],
        [new SamplingOptions { RepeatLastN = -2 }, "repeat-last-n"],
    ];

    [Theory, MemberData(nameof(BadSampling))]
    public void GeneratorRefusesMeaninglessSampling(SamplingOptions sampling, string names)
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf, new SieveModelOptions { Threads = 1 });
        var e = Assert.Throws<ArgumentException>(() => m.CreateGenerator().Generate("Once", new GenerationOptions { Sampling = sampling, MaxTokens = 2 }).ToList());
        Assert.Contains(names, e.Message);
    }

    [Fact]
    public void EmptyStopStringIsRefusedAndUnlimitedTokensStopAtTheContext()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf, new SieveModelOptions { Threads = 1 });
        var g = m.CreateGenerator();
        Assert.Throws<ArgumentException>(() => g.Generate("Once", new GenerationOptions { StopStrings = [""], MaxTokens = 2 }).ToList());
        var all = g.Generate("Once", new GenerationOptions { MaxTokens = int.MaxValue, ContextLength = 32, Sampling = SamplingOptions.Greedy, StopAtEndOfGeneration = false }).ToList();
        Assert.Equal("context", g.LastStats!.StopReason);
    }

    [Fact]
    public void ConverterRefusesToWriteOverItsOwnSource()
    {
        var dir = Fixtures.TempDir();
        try
        {
            string bin = Path.Combine(dir, "model.bin");
            File.Copy(Fixtures.Stories260KBin, bin);
            File.Copy(Fixtures.Tok512, Path.Combine(dir, "tokenizer.bin"));
            using var m = SieveModel.Load(bin, new SieveModelOptions { Threads = 1 });
            var e = Assert.Throws<IOException>(() => ModelConverter.ToGguf(m.Checkpoint, m.Tokenizer.ToGgufMetadata(), Sieve.Tensors.GgmlType.F16, bin));
            Assert.Contains("model.bin", e.Message);
            Assert.Throws<IOException>(() => ModelConverter.ToGguf(m.Checkpoint, m.Tokenizer.ToGgufMetadata(), Sieve.Tensors.GgmlType.F16, Path.Combine(dir, "tokenizer.bin")));
            Assert.Equal(File.ReadAllBytes(Fixtures.Stories260KBin), File.ReadAllBytes(bin));
            Assert.Equal(File.ReadAllBytes(Fixtures.Tok512), File.ReadAllBytes(Path.Combine(dir, "tokenizer.bin")));
        }
        finally { Directory.Delete(dir, true); }
    }
}
