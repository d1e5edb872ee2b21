using Sieve.Cache;
using Sieve.Cache.SelfIndexing;
using Sieve.Eval;
using Sieve.Models;
using Xunit.Abstractions;

namespace Sieve.Tests.Cache;

/// <summary>
/// The Self-Indexing cache against dense attention on real models, at a budget of 25% of the cached tokens. Bounds
/// come from measurements on these fixtures (the comments give them) with margin; each check that concerns the
/// selection has a twin with the selection replaced by random tokens, which must fail the same bound.
/// </summary>
public class KvFidelityTests(ITestOutputHelper output)
{
    static readonly string Story = Path.Combine(Fixtures.Dir, "stories260K-sample", "story.txt");
    const int Prefix = 448;   // 448 prompt tokens compressed at the boundary, then 63 predictions through decode

    static (SieveModel Model, int[] Tokens) Load(string path)
    {
        var m = SieveModel.Load(path);
        var tokens = m.Tokenizer.Encode(File.ReadAllText(Story));
        return (m, tokens[..Math.Min(512, tokens.Length)]);
    }

    KvPerplexityResult Run(SieveModel m, int[] tokens, float[][] dense, string name, SelfIndexOptions options, int prefix = Prefix)
    {
        var r = KvPerplexity.Evaluate(m.Runner(), tokens, prefix, name,
            trace => new SelfIndexKvCache(KvCacheShape.Of(m.Config, tokens.Length), options with { Trace = trace }, m.Runner().Pool),
            dense, fidelity: true);
        var l = r.Fidelity!;
        output.WriteLine($"{name}: PPL {r.Perplexity:F4} (dense {r.BasePerplexity:F4}), KL {r.MeanKl:F5}, top-1 {r.Top1Agreement:P1}, " +
            $"recall@K {l.Average(x => x.Recall):F3}, mass {l.Average(x => x.Mass):F3}, cosine {l.Average(x => x.Cosine):F4}, " +
            $"attended {l.Average(x => x.AttendedTokens):F0} of ≤{tokens.Length}, {r.Memory.BytesPerTokenPerHead:F1} B/token/head");
        return r;
    }

    [Fact]
    public void Stories260KAtAQuarterBudget()
    {
        var (m, tokens) = Load(Fixtures.Stories260KGguf);
        using var _ = m;
        var dense = KvPerplexity.LogProbs(m.Runner(), tokens, Prefix, m.Runner().CreateDenseCache(tokens.Length));
        var quarter = new SelfIndexOptions { Budget = KvBudget.OfFraction(0.25), DenseSet = 16 };

        var method = Run(m, tokens, dense, "selfindex (2+1 bits)", quarter);
        var random = Run(m, tokens, dense, "selfindex, random selection", quarter with { Scorer = SelfIndexScorer.Random });
        var index = Run(m, tokens, dense, "selfindex index over F16 rows", quarter with { FullPrecisionStorage = true });
        var indexRandom = Run(m, tokens, dense, "random selection over F16 rows", quarter with { FullPrecisionStorage = true, Scorer = SelfIndexScorer.Random });

        static double Recall(KvPerplexityResult r) => r.Fidelity!.Average(l => l.Recall);
        static double Mass(KvPerplexityResult r) => r.Fidelity!.Average(l => l.Mass);
        static double Cosine(KvPerplexityResult r) => r.Fidelity!.Average(l => l.Cosine);

        // The sign-code index finds the exact top-K: measured recall 0.71 against 0.28 for random picks (≈ K / candidates),
        // and 97% of the exact attention mass against 91%.
        Assert.InRange(Recall(method), 0.6, 1.0);
        Assert.InRange(Recall(random), 0.0, 0.4);
        Assert.InRange(Mass(method), 0.95, 1.0);
        Assert.True(Mass(method) > Mass(random) + 0.03);

        // With F16 rows behind the index, only selection differs from dense: measured KL 0.004, PPL +0.2%, cosine
        // 0.996; random selection over the same rows (the dense set and recent tokens still kept): KL 0.022, cosine 0.984.
        Assert.InRange(index.MeanKl!.Value, 0, 0.02);
        Assert.InRange(index.Perplexity / index.BasePerplexity!.Value, 0.98, 1.02);
        Assert.InRange(Cosine(index), 0.99, 1.0);
        Assert.True(indexRandom.MeanKl > 3 * index.MeanKl, "random selection must be far from dense");
        Assert.True(Cosine(indexRandom) < Cosine(index) - 0.01);

        // The method itself stores 2-bit keys and values. At head dim 8 one 32-channel group spans the whole head,
        // keys come back with ~13% relative error, and that — not the selection — dominates: measured KL 1.0,
        // PPL 2.41 → 7.8, cosine 0.74 (and the same with random selection). These bounds pin that behaviour.
        Assert.InRange(method.MeanKl!.Value, 0.3, 1.5);
        Assert.InRange(method.Perplexity / method.BasePerplexity!.Value, 1.5, 4.5);
        Assert.InRange(Cosine(method), 0.6, 0.9);
        Assert.Equal(13.0, method.Memory.BytesPerTokenPerHead, 0);   // 1 + 2 + 2 + 8 B at head dim 8 (vs 32 B F16)
    }

    [Fact]
    public void TinyRandomModelWithHeadDim64()
    {
        // Random weights spread attention thinly (the exact mass on a quarter of the tokens is ~0.35), so only the
        // index's recall is informative: measured 0.71 against 0.28 at random.
        var (m, tokens) = Load(Fixtures.TinyK("f32"));
        using var _ = m;
        var dense = KvPerplexity.LogProbs(m.Runner(), tokens, Prefix, m.Runner().CreateDenseCache(tokens.Length));
        var quarter = new SelfIndexOptions { Budget = KvBudget.OfFraction(0.25), DenseSet = 16 };
        var method = Run(m, tokens, dense, "selfindex (2+1 bits)", quarter);
        var random = Run(m, tokens, dense, "selfindex, random selection", quarter with { Scorer = SelfIndexScorer.Random });
        Assert.InRange(method.Fidelity!.Average(l => l.Recall), 0.55, 1.0);
        Assert.InRange(random.Fidelity!.Average(l => l.Recall), 0.0, 0.4);
        Assert.InRange(method.MeanKl!.Value, 0, 0.05);
        Assert.Equal(56.0, method.Memory.BytesPerTokenPerHead, 0);   // 8 + 16 + 16 + 16 B at head dim 64 (vs 256 B F16)
    }

    [Fact]
    public void TinyRandomLlama2WithHeadDim4()
    {
        // One layer, head dim 4 (one sign-code group per head, half a byte of index per token), 32,000-token vocabulary:
        // measured recall 0.74 against 0.31 at random.
        var (m, tokens) = Load(Fixtures.TinyRandomGguf);
        using var _ = m;
        int prefix = tokens.Length * 3 / 4;
        var dense = KvPerplexity.LogProbs(m.Runner(), tokens, prefix, m.Runner().CreateDenseCache(tokens.Length));
        var quarter = new SelfIndexOptions { Budget = KvBudget.OfFraction(0.25), DenseSet = 16 };
        var method = Run(m, tokens, dense, "selfindex (2+1 bits)", quarter, prefix);
        var random = Run(m, tokens, dense, "selfindex, random selection", quarter with { Scorer = SelfIndexScorer.Random }, prefix);
        Assert.InRange(method.Fidelity!.Average(l => l.Recall), 0.55, 1.0);
        Assert.InRange(random.Fidelity!.Average(l => l.Recall), 0.0, 0.45);
        Assert.InRange(method.MeanKl!.Value, 0, 0.01);
    }
}
