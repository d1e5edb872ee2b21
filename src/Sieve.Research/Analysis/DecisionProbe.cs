using Sieve.Eval;
using Sieve.Eval.Tasks;
using Sieve.Kernels;
using Sieve.Models;
using Sieve.Tensors;
using Sieve.Tokenization;

namespace Sieve.Analysis;

/// <summary>Per-layer option read-out of one sample: logits[l][o] for l = 0 (embedding) … L (last block).</summary>
public sealed record SampleDecisions(string Id, int Gold, float[][] OptionLogits);

/// <summary>
/// The option logit lens (method notes §1.2): one forward pass over the prompt, the residual stream at its last
/// position captured after every block through the engine's hook seam, each read through the final RMSNorm and
/// only the option tokens' rows of the LM head. The read-out uses the same activation quantization and dot
/// kernel as the LM head's matrix product, so the last layer's choice equals eval's acc exactly.
/// </summary>
public sealed class DecisionProbe(ForwardRunner model, TextTokenizer tokenizer)
{
    /// <summary>Forward passes run so far: one per sample.</summary>
    public int ForwardPasses { get; private set; }

    readonly HashSet<string> _truncated = [];

    /// <summary>Samples whose prompt was cut from the left to the model's context (as the harness cuts), each counted once.</summary>
    public int TruncatedSamples => _truncated.Count;

    /// <summary>The prompt the probe runs for a sample and the option tokens it reads at the prompt's last position.</summary>
    public (int[] Prompt, int[] OptionTokens) Prepare(McqSample sample)
    {
        if (sample.IsMultipleInput)
            throw new ArgumentException($"sample {sample.Id}: a multiple-input task (WinoGrande) puts each option in the context, so no one position holds the decision; render it with lettered options (--render lettered)");
        var scorer = new McqScorer(model, tokenizer);
        // Lettered prompts read the letters; continuation tasks (HellaSwag, PIQA) read each continuation's first
        // distinguishing token, as the method notes define the probe for them.
        var options = sample.OptionLabels ?? sample.Choices;
        var pairs = options.Select(l => scorer.EncodePair(sample.Context, " " + l)).ToArray();
        // Options may share leading tokens (a small vocabulary spells " A" as "▁" + "A"). The shared prefix has the
        // same probability under every option, so it is fed as prompt and the first distinguishing token is read.
        var first = pairs[0].Continuation;
        int shared = 0;
        while (shared < first.Length && pairs.All(p => p.Continuation.Length > shared && p.Continuation[shared] == first[shared])) shared++;
        if (pairs.Any(p => p.Continuation.Length <= shared))
            throw new ArgumentException($"sample {sample.Id}: the option labels do not differ in their tokens");
        var prompt = pairs[0].Context.Concat(first[..shared]).ToArray();
        int max = model.Config.ContextLength;
        if (prompt.Length > max)
        {
            prompt = prompt[^max..];
            lock (_truncated) _truncated.Add(sample.Id);
        }
        return (prompt, pairs.Select(p => p.Continuation[shared]).ToArray());
    }

    /// <param name="plan">Layers removed or changed (a pruning candidate); null: the whole model.</param>
    public SampleDecisions Probe(McqSample sample, LayerPlan? plan = null)
    {
        var (ctx, optionTokens) = Prepare(sample);
        var capture = new ResidualCapture(model.Config.LayerCount, model.Config.Dim, ctx.Length - 1);
        model.Prefill(ctx, 0, model.CreateDenseCache(ctx.Length), new ForwardOptions { Plan = plan, Hooks = [capture] });
        ForwardPasses++;
        capture.FillSkipped();
        var logits = capture.States.Select(h => ReadOut(h, optionTokens)).ToArray();
        return new SampleDecisions(sample.Id, sample.Gold, logits);
    }

    /// <summary>Option logits of one residual state: the final RMSNorm, then the option tokens' LM-head rows.</summary>
    public unsafe float[] ReadOut(float[] h, int[] tokens)
    {
        var c = model.Config;
        var normed = new float[c.Dim];
        RmsNorm.Apply(h, model.Weights.OutputNorm, c.NormEps, normed);
        var w = model.Weights.Output;
        var dotType = TypeTraits.Of(w.Type).VecDotType;
        var xq = new byte[TypeTraits.Of(dotType).RowBytes(c.Dim)];
        if (dotType == GgmlType.F32) System.Runtime.InteropServices.MemoryMarshal.AsBytes(normed.AsSpan()).CopyTo(xq);
        else Quantize.Row(dotType, normed, xq);
        var z = new float[tokens.Length];
        fixed (byte* px = xq)
            for (int i = 0; i < tokens.Length; i++) z[i] = VecDot.Dot(w.Type, w.RowPointer(tokens[i]), px, c.Dim);
        return z;
    }
}
