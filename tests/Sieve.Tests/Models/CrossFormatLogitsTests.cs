using Sieve.Formats;
using Sieve.Formats.Conversion;
using Sieve.Models;
using Sieve.Tensors;
using Sieve.Threading;
using Sieve.Tokenization;

namespace Sieve.Tests.Models;

/// <summary>
/// One model, many files: the llama2.c .bin (legacy and v1), the GGUF, and GGUF and Hugging Face copies written by
/// Sieve's converter must give the same last-position logits. The HF copy stores Q/K for rotate-half RoPE, so this
/// also checks that both RoPE pairings describe the same model.
/// </summary>
public class CrossFormatLogitsTests
{
    const float F32Tolerance = 1e-4f;
    static readonly int[] Prompt = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315];

    static float[] LastLogits(string path)
    {
        using var checkpoint = CheckpointLoader.Load(path);
        using var pool = new WorkerPool(2);
        var tf = new ForwardRunner(new Transformer(checkpoint.Config, checkpoint.Weights), pool);
        return tf.Prefill(Prompt, 0, tf.CreateDenseCache(Prompt.Length)).ToArray();
    }

    static void AssertClose(float[] expected, float[] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        float worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = MathF.Max(worst, MathF.Abs(expected[i] - actual[i]));
        Assert.True(worst <= tolerance, $"max |Δlogit| = {worst} > {tolerance}");
    }

    [Fact]
    public void BinV1GgufConvertedGgufAndHuggingFaceFolderAgree()
    {
        var reference = LastLogits(Fixtures.Stories260KBin);
        AssertClose(reference, LastLogits(Fixtures.Stories260KV1Bin), F32Tolerance);
        AssertClose(reference, LastLogits(Fixtures.Stories260KGguf), F32Tolerance);

        var dir = Fixtures.TempDir();
        try
        {
            var gguf = Path.Combine(dir, "from-bin.gguf");
            var hf = Path.Combine(dir, "hf");
            using (var src = CheckpointLoader.Load(Fixtures.Stories260KBin))
            {
                var tokenizer = TokenizerFactory.FromLlama2c(Fixtures.Tok512, src.Config.VocabSize);
                ModelConverter.ToGguf(src, tokenizer.ToGgufMetadata(), GgmlType.F32, gguf, null, null);
                ModelConverter.ToHuggingFace(src, hf);
            }
            AssertClose(reference, LastLogits(gguf), F32Tolerance);
            using (var h = CheckpointLoader.Load(hf)) Assert.Equal(RopeStyle.Neox, h.Config.RopeStyle);
            AssertClose(reference, LastLogits(hf), F32Tolerance);

            // A GGUF written from the HF folder goes back to interleaved pairs and still agrees.
            var back = Path.Combine(dir, "from-hf.gguf");
            using (var src = CheckpointLoader.Load(hf))
            using (var g = Sieve.Formats.Gguf.GgufFile.Open(Fixtures.Stories260KGguf))
                ModelConverter.ToGguf(src, TokenizerFactory.FromGguf(g).ToGgufMetadata(), GgmlType.F32, back, null, null);
            AssertClose(reference, LastLogits(back), F32Tolerance);

            // And the converted GGUF runs end to end with its own embedded tokenizer.
            using var m = SieveModel.Load(gguf);
            var text = string.Concat(m.CreateGenerator().Generate("Once upon a time",
                new Sieve.Generation.GenerationOptions { MaxTokens = 12, Sampling = Sieve.Generation.SamplingOptions.Greedy }).Select(t => t.Text));
            Assert.StartsWith(", there was a little girl", text);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
