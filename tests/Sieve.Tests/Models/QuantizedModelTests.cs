using System.Text.Json;
using Sieve.Eval;
using Sieve.Formats;
using Sieve.Formats.Conversion;
using Sieve.Models;
using Sieve.Tensors;
using Sieve.Threading;
using Xunit.Abstractions;

namespace Sieve.Tests.Models;

public class QuantizedModelTests(ITestOutputHelper output)
{
    /// <summary>Quantized weights with 8-bit activations against the same values in F32: about 1e-2 is the activation cost.</summary>
    const double QuantizedLogitRelativeRms = 2e-2;

    static ForwardRunner Open(LoadedCheckpoint c, WorkerPool pool) => new(new Transformer(c.Config, c.Weights), pool);

    [Theory]
    [InlineData("q8_0")]
    [InlineData("q4_0")]
    [InlineData("q4_k")]
    [InlineData("q6_k")]
    public void QuantizedFileLogitsAgreeWithItsDequantizedTwin(string type)
    {
        using var pool = new WorkerPool(2);
        using var quant = CheckpointLoader.Load(Fixtures.TinyK(type));
        using var twin = CheckpointLoader.Load(Fixtures.TinyK(type + ".dequant-f32"));
        int[] tokens = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426];
        var r = LogitComparison.Measure(Open(twin, pool), Open(quant, pool), tokens);
        output.WriteLine($"{type}: {r}");
        Assert.True(r.RelativeRmsError < QuantizedLogitRelativeRms, $"{type}: logit relative RMS {r.RelativeRmsError}");
    }

    [Fact]
    public void Q8_0ConversionOfStories260KKeepsPerplexity()
    {
        var text = JsonDocument.Parse(File.ReadAllText(Fixtures.Oracles)).RootElement.GetProperty("cases")[0];
        var tokens = new List<int> { 1 };
        tokens.AddRange(text.GetProperty("token_ids_after_bos").EnumerateArray().Select(e => e.GetInt32()));
        var dir = Fixtures.TempDir();
        try
        {
            using var pool = new WorkerPool(2);
            using var f32 = CheckpointLoader.Load(Fixtures.Stories260KGguf);
            var path = Path.Combine(dir, "q8.gguf");
            ModelConverter.ToGguf(f32, Sieve.Tokenization.TokenizerFactory.FromGguf(f32.Gguf!).ToGgufMetadata(), GgmlType.Q8_0, path);
            using var q8 = CheckpointLoader.Load(path);
            var r = LogitComparison.Measure(Open(f32, pool), Open(q8, pool), tokens);
            output.WriteLine($"stories260K Q8_0 vs F32 on the greedy oracle text: {r}");
            Assert.True(r.Perplexity / r.BaselinePerplexity < 1.02, r.ToString());
            Assert.True(r.MeanKlDivergence < 5e-3, r.ToString());
            Assert.True(r.TopTokenAgreement > 0.95, r.ToString());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
