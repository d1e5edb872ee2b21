using Sieve.Generation;

namespace Sieve.Tests.Generation;

public class SamplerTests
{
    static float[] Logits() => [1.0f, 3.0f, 2.5f, -1f, 0.5f, 2.9f];

    [Fact]
    public void XorShiftMatchesLlama2cSequence()
    {
        // llama2.c random_u32 with state 42, by hand: s ^= s>>12; s ^= s<<25; s ^= s>>27; (s * 0x2545F4914F6CDD1D) >> 32.
        ulong s = 42;
        s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
        uint expected = (uint)((s * 0x2545F4914F6CDD1DUL) >> 32);
        Assert.Equal(expected, new XorShiftRandom(42).NextUInt32());
        var r = new XorShiftRandom(7);
        for (int i = 0; i < 1000; i++) Assert.InRange(r.NextSingle(), 0f, 0.99999994f);
    }

    [Fact]
    public void GreedyPicksTheLargestLogit()
    {
        Assert.Equal(1, ISampler.Create(SamplingOptions.Greedy).Sample(Logits(), [], 0));
        Assert.Equal(1, ISampler.Create(SamplingOptions.Greedy with { Llama2cCompatible = true }).Sample(Logits(), [], 0));
    }

    [Fact]
    public void TopKOfOneIsGreedyWhateverTheTemperature()
    {
        var s = ISampler.Create(new SamplingOptions { Temperature = 5f, TopK = 1, TopP = 1, MinP = 0, Seed = 3 });
        for (int i = 0; i < 50; i++) Assert.Equal(1, s.Sample(Logits(), [], 0));
    }

    [Fact]
    public void SameSeedSameChoices()
    {
        var o = new SamplingOptions { Temperature = 1.5f, TopK = 0, TopP = 1, MinP = 0, Seed = 123 };
        var a = ISampler.Create(o); var b = ISampler.Create(o);
        var x = Enumerable.Range(0, 40).Select(_ => a.Sample(Logits(), [], 0)).ToArray();
        var y = Enumerable.Range(0, 40).Select(_ => b.Sample(Logits(), [], 0)).ToArray();
        Assert.Equal(x, y);
        Assert.True(x.Distinct().Count() > 2, "a hot temperature should visit several tokens");
    }

    [Fact]
    public void UnfilteredDrawsFollowTheSoftmax()
    {
        // OpenAI's defaults (no top-k, top-p 1, min-p 0) take the unsorted path: its draws must still be softmax(l / T).
        float[] logits = [0f, MathF.Log(2), MathF.Log(3), float.NegativeInfinity];
        var sampler = new SamplerChain(new SamplingOptions { Temperature = 1, TopK = 0, TopP = 1, MinP = 0, Seed = 5 });
        var counts = new int[4];
        const int draws = 60_000;
        for (int i = 0; i < draws; i++) counts[sampler.Sample(logits.ToArray(), [], 0)]++;
        Assert.Equal(0, counts[3]);
        for (int t = 0; t < 3; t++) Assert.InRange(counts[t] / (double)draws, (t + 1) / 6.0 - 0.01, (t + 1) / 6.0 + 0.01);
        // Temperature 0.5 squares the odds: 1 : 4 : 9.
        var cold = new SamplerChain(new SamplingOptions { Temperature = 0.5f, TopK = 0, TopP = 1, MinP = 0, Seed = 5 });
        Array.Clear(counts);
        for (int i = 0; i < draws; i++) counts[cold.Sample(logits.ToArray(), [], 0)]++;
        for (int t = 0; t < 3; t++) Assert.InRange(counts[t] / (double)draws, (t + 1) * (t + 1) / 14.0 - 0.01, (t + 1) * (t + 1) / 14.0 + 0.01);
    }

    [Theory]
    [InlineData(0.9f, 0f)]
    [InlineData(0.5f, 0f)]
    [InlineData(1f, 0.01f)]
    [InlineData(0.95f, 0.005f)]
    public void TopPWithoutTopKDrawsFromTheExactNucleus(float topP, float minP)
    {
        // A 20,000-token vocabulary with a flat tail, so the nucleus reaches past the first 256 sorted: the bounded
        // sort must keep exactly the tokens a full sort keeps.
        var rng = new Random(3);
        var logits = new float[20_000];
        for (int i = 0; i < logits.Length; i++) logits[i] = (float)(rng.NextDouble() * 2);
        for (int i = 0; i < 50; i++) logits[rng.Next(logits.Length)] += 4;
        var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).ToArray();
        double z = logits.Sum(l => Math.Exp(l - logits[order[0]]));
        var p = order.Select(i => Math.Exp(logits[i] - logits[order[0]]) / z).ToArray();
        int keep = logits.Length;
        if (topP < 1) { double cum = 0; for (int i = 0; i < p.Length; i++) { cum += p[i]; if (cum >= topP) { keep = i + 1; break; } } }
        if (minP > 0) { int m = 1; while (m < keep && p[m] >= minP * p[0]) m++; keep = m; }
        var nucleus = order.Take(keep).ToHashSet();
        Assert.True(keep > 256 || topP == 0.5f, $"premise: the nucleus ({keep}) is larger than the first sort's 256");

        var sampler = new SamplerChain(new SamplingOptions { Temperature = 1, TopK = 0, TopP = topP, MinP = minP, Seed = 11 });
        var seen = new HashSet<int>();
        for (int draw = 0; draw < 3000; draw++)
        {
            int t = sampler.Sample(logits.ToArray(), [], 0);
            Assert.Contains(t, nucleus);
            seen.Add(t);
        }
        // The draws spread over the nucleus, not only its head: the last-ranked quarter is reached.
        var tail = order.Skip(keep * 3 / 4).Take(keep - keep * 3 / 4).ToHashSet();
        Assert.True(keep < 8 || seen.Overlaps(tail), $"no draw from the last quarter of a {keep}-token nucleus");
    }

    [Fact]
    public void TopPAndMinPKeepOnlyTheHead()
    {
        // Probabilities at T=1: token 1 (3.0) and 5 (2.9) and 2 (2.5) hold most of the mass.
        var topP = ISampler.Create(new SamplingOptions { Temperature = 1, TopK = 0, TopP = 0.5f, MinP = 0, Seed = 1 });
        Assert.All(Enumerable.Range(0, 200).Select(_ => topP.Sample(Logits(), [], 0)), t => Assert.Contains(t, new[] { 1, 5 }));
        var minP = ISampler.Create(new SamplingOptions { Temperature = 1, TopK = 0, TopP = 1, MinP = 0.5f, Seed = 1 });
        Assert.All(Enumerable.Range(0, 200).Select(_ => minP.Sample(Logits(), [], 0)), t => Assert.Contains(t, new[] { 1, 2, 5 }));
    }

    [Fact]
    public void RepetitionPenaltyMovesGreedyOffARepeatedToken()
    {
        var s = ISampler.Create(new SamplingOptions { Temperature = 0, RepeatPenalty = 1.5f, RepeatLastN = 8 });
        Assert.Equal(5, s.Sample(Logits(), [1, 1], 0));   // 3.0/1.5 = 2.0 < 2.9
    }

    [Fact]
    public void Llama2cNucleusMatchesItsDefinition()
    {
        // With top-p 0.9, the coin is scaled by the kept mass and walks the sorted nucleus.
        var o = new SamplingOptions { Llama2cCompatible = true, Temperature = 1, TopP = 0.9f, Seed = 42 };
        var s = ISampler.Create(o);
        var rng = new XorShiftRandom(42);
        for (int i = 0; i < 100; i++)
        {
            var logits = Logits();
            var p = logits.Select(l => Math.Exp(l - 3.0)).ToArray();
            double z = p.Sum();
            var sorted = p.Select((v, k) => (P: (float)(v / z), K: k)).OrderByDescending(t => t.P).ToList();
            float cum = 0; int last = sorted.Count - 1;
            for (int k = 0; k < sorted.Count; k++) { cum += sorted[k].P; if (cum > 0.9f) { last = k; break; } }
            float r = rng.NextSingle() * cum, cdf = 0;
            int expected = sorted[last].K;
            for (int k = 0; k <= last; k++) { cdf += sorted[k].P; if (r < cdf) { expected = sorted[k].K; break; } }
            Assert.Equal(expected, s.Sample(logits, [], 0));
        }
    }
}
