using Sieve.Cache;
using Sieve.Cache.SelfIndexing;
using Sieve.Cache.Sparse;
using Sieve.Eval;
using Sieve.Kernels;
using Sieve.Models;
using Xunit.Abstractions;

namespace Sieve.Tests.Cache;

/// <summary>
/// The Self-Indexing cache on the sparse core: a prompt that fits the statistics window is compressed at the boundary
/// exactly as <see cref="SelfIndexHead.Compress"/> does; a longer one is coded as it arrives with its first tokens'
/// statistics, and prefill then holds codes, not F32 rows.
/// </summary>
public class SelfIndexStreamingTests(ITestOutputHelper output)
{
    static float[] Gaussian(Random rng, int n, float scale = 1f, float shift = 0f) =>
        Enumerable.Range(0, n).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble())) * scale + shift).ToArray();

    /// <summary>Keys with a per-channel offset (what median centring removes) and values, position-major, kvDim wide.</summary>
    sealed record Prompt(float[] K, float[] V, float[] Q, int Tokens, KvCacheShape Shape);

    static Prompt MakePrompt(KvCacheShape shape, int tokens, int seed)
    {
        var rng = new Random(seed);
        var offset = Gaussian(rng, shape.KvDim, 2f);
        var k = Gaussian(rng, tokens * shape.KvDim);
        for (int i = 0; i < k.Length; i++) k[i] += offset[i % shape.KvDim];
        return new Prompt(k, Gaussian(rng, tokens * shape.KvDim), Gaussian(rng, tokens * shape.Heads * shape.HeadDim), tokens, shape);
    }

    /// <summary>Prefill in chunks (append, then attend, layer by layer, as the runner does); returns the prefill outputs.</summary>
    static float[] Prefill(IKvCache cache, Prompt p, int chunk, Action<int>? afterChunk = null)
    {
        var s = p.Shape;
        int qDim = s.Heads * s.HeadDim;
        var output = new float[p.Tokens * qDim];
        for (int start = 0; start < p.Tokens; start += chunk)
        {
            int n = Math.Min(chunk, p.Tokens - start);
            for (int l = 0; l < s.Layers; l++)
            {
                cache.Append(l, ForwardStage.Prefill, start, n, p.K.AsSpan(start * s.KvDim, n * s.KvDim), p.V.AsSpan(start * s.KvDim, n * s.KvDim));
                cache.Attend(l, ForwardStage.Prefill, start, n, p.Q.AsSpan(start * qDim, n * qDim), output.AsSpan(start * qDim, n * qDim));
            }
            afterChunk?.Invoke(start + n);
        }
        return output;
    }

    /// <summary>One decode row at <paramref name="pos"/> through every layer; the last layer's output.</summary>
    static float[] Decode(IKvCache cache, KvCacheShape s, int pos, int seed)
    {
        var rng = new Random(seed);
        var output = new float[s.Heads * s.HeadDim];
        for (int l = 0; l < s.Layers; l++)
        {
            cache.Append(l, ForwardStage.Decode, pos, 1, Gaussian(rng, s.KvDim), Gaussian(rng, s.KvDim));
            cache.Attend(l, ForwardStage.Decode, pos, 1, Gaussian(rng, s.Heads * s.HeadDim), output);
        }
        return output;
    }

    static float[] Column(Prompt p, int kvHead, int tokens, bool keys)
    {
        int hd = p.Shape.HeadDim, kvDim = p.Shape.KvDim;
        var rows = new float[tokens * hd];
        for (int t = 0; t < tokens; t++) (keys ? p.K : p.V).AsSpan(t * kvDim + kvHead * hd, hd).CopyTo(rows.AsSpan(t * hd));
        return rows;
    }

    [Fact]
    public void APromptWithinTheStatisticsWindowIsCompressedBitForBitAsTheMethodSays()
    {
        var shape = new KvCacheShape(Layers: 2, Heads: 4, KvHeads: 2, HeadDim: 64, Capacity: 400);
        var p = MakePrompt(shape, 300, seed: 1);
        var options = new SelfIndexOptions { DenseSet = 16, StatisticsTokens = 300 };   // 300 tokens: just inside the window
        var cache = new SelfIndexKvCache(shape, options);
        Prefill(cache, p, chunk: 64);
        Decode(cache, shape, 300, seed: 2);

        int hd = shape.HeadDim, g = shape.GroupSize;
        var qbar = new float[hd];
        for (int l = 0; l < shape.Layers; l++)
            for (int h = 0; h < shape.KvHeads; h++)
            {
                var store = cache.Store(l, h);
                Assert.False(store.Streaming);
                // The reference: the whole prompt compressed at once with the last prompt query's group mean.
                GroupQuery.Mean(p.Q.AsSpan((p.Tokens - 1) * shape.Heads * hd + h * g * hd, g * hd), hd, qbar);
                var reference = SelfIndexHead.Compress(Column(p, h, 300, true), Column(p, h, 300, false), hd, 300, hd, qbar, 16, shape.Capacity - 16);
                var head = store.Head!;
                Assert.Equal(reference.Median, head.Median);
                Assert.Equal(reference.ChannelScale, head.ChannelScale);
                Assert.Equal(reference.Centroids, head.Centroids);
                Assert.Equal(reference.DensePositions, head.DensePositions);
                for (int t = 0; t < reference.Count; t++)
                    for (int i = 0; i < reference.CodeBytes; i++)
                        Assert.Equal(SignCodes.Byte(reference.SignBlocks, reference.CodeBytes, t, i), SignCodes.Byte(head.SignBlocks, head.CodeBytes, t, i));
                // Every prompt position reads back as the reference's dense row or dequantised slot, bit for bit.
                var mine = new float[hd];
                var theirs = new float[hd];
                for (int t = 0; t < 300; t++)
                {
                    store.ReadKeys(t, 1, mine);
                    int d = Array.IndexOf(reference.DensePositions, t);
                    if (d >= 0) reference.DenseKeys(d, 1, theirs);
                    else reference.DecodeKey(t - reference.DensePositions.Count(x => x < t), theirs);
                    Assert.Equal(theirs, mine);
                    store.ReadValues(t, 1, mine);
                    if (d >= 0) reference.DenseValues(d, 1, theirs);
                    else reference.DecodeValue(t - reference.DensePositions.Count(x => x < t), theirs);
                    Assert.Equal(theirs, mine);
                }
            }
    }

    [Fact]
    public void ALongPromptIsCodedOnArrivalWithItsFirstTokensStatistics()
    {
        var shape = new KvCacheShape(Layers: 1, Heads: 2, KvHeads: 1, HeadDim: 32, Capacity: 600);
        const int S = 128, first = 8, last = 32, tokens = 500;
        var options = new SelfIndexOptions { DenseSet = 16, StatisticsTokens = S, ExactFirst = first, ExactLast = last };
        var p = MakePrompt(shape, tokens, seed: 3);
        // Another prompt with the same first S tokens and a different tail: the statistics must not move.
        var other = MakePrompt(shape, tokens, seed: 4);
        Array.Copy(p.K, other.K, S * shape.KvDim);
        Array.Copy(p.V, other.V, S * shape.KvDim);

        int hd = shape.HeadDim;
        var a = new SelfIndexKvCache(shape, options);
        var b = new SelfIndexKvCache(shape, options);
        Prefill(a, p, chunk: 48);
        Prefill(b, other, chunk: 100);
        var store = a.Store(0, 0);
        Assert.True(store.Streaming);
        var head = store.Head!;
        Assert.Equal(head.Median, b.Store(0, 0).Head!.Median);
        Assert.Equal(head.ChannelScale, b.Store(0, 0).Head!.ChannelScale);

        // Median and scale of the first S tokens, written out independently.
        var keys = Column(p, 0, tokens, keys: true);
        var values = Column(p, 0, tokens, keys: false);
        for (int j = 0; j < hd; j++)
        {
            var col = Enumerable.Range(0, S).Select(t => keys[t * hd + j]).Order().ToArray();
            Assert.Equal(col[(S - 1) / 2], head.Median[j]);
            Assert.Equal(Enumerable.Range(0, S).Max(t => Math.Abs(keys[t * hd + j] - head.Median[j])), head.ChannelScale[j]);
        }

        // The reference: the same statistics, every token coded in order.
        var reference = SelfIndexHead.Begin(keys, values, hd, S, hd, code: tokens - last, slotCapacity: shape.Capacity);
        var centred = new float[hd];
        var row = new float[hd];
        var expected = new float[hd];
        Assert.Equal(tokens - last, head.Count);
        for (int t = 0; t < tokens; t++)
        {
            store.ReadKeys(t, 1, row);
            for (int j = 0; j < hd; j++) centred[j] = keys[t * hd + j] - head.Median[j];
            if (t < first) for (int j = 0; j < hd; j++) Assert.Equal((float)(Half)centred[j], row[j]);   // the sinks: F16
            else if (t >= tokens - last) Assert.Equal(centred, row);                                       // the latest: exact
            else
            {
                reference.DecodeKey(t, expected);                                                           // coded on arrival
                Assert.Equal(expected, row);
            }
        }

        // At the boundary the tail is coded, the dense set leaves the compressed slots, and positions still map.
        Decode(a, shape, tokens, seed: 5);
        Assert.False(store.Streaming);
        Assert.Equal(16, head.DensePositions.Length);
        Assert.Equal(tokens - 16 + 1, head.Count);
        for (int t = tokens - last; t < tokens; t++)
        {
            for (int j = 0; j < hd; j++) centred[j] = keys[t * hd + j] - head.Median[j];
            reference.AppendPrompt(centred, values.AsSpan(t * hd, hd));
        }
        for (int t = 0; t < tokens; t++)
        {
            store.ReadKeys(t, 1, row);
            int d = Array.IndexOf(head.DensePositions, t);
            if (d >= 0) continue;
            reference.DecodeKey(t, expected);
            Assert.Equal(expected, row);
            Assert.Equal(t, head.PositionOf(head.SlotsBefore(t)));
        }
        // The dense rows of exactly held tokens are their F16 centred keys.
        foreach (int t in head.DensePositions.Where(t => t < first || t >= tokens - last))
        {
            store.ReadKeys(t, 1, row);
            for (int j = 0; j < hd; j++) Assert.Equal((float)(Half)(keys[t * hd + j] - head.Median[j]), row[j]);
        }
    }

    [Fact]
    public void PrefillMemoryFollowsTheCompressedSize()
    {
        var shape = new KvCacheShape(Layers: 8, Heads: 4, KvHeads: 2, HeadDim: 64, Capacity: 3072 + 16);
        var p = MakePrompt(shape, 3072, seed: 6);
        var streamed = new SelfIndexKvCache(shape, new SelfIndexOptions { StatisticsTokens = 512, ExactLast = 256 });
        var buffered = new SelfIndexKvCache(shape, new SelfIndexOptions { StatisticsTokens = 0 });
        var perHead = new List<double>();
        Prefill(streamed, p, chunk: 256, afterChunk: _ => perHead.Add(streamed.Memory.BytesPerTokenPerHead));
        Prefill(buffered, p, chunk: 256);

        // F32 K+V (512 B at head dim 64) while the first 512 tokens are buffered, then the codes: 56 B.
        Assert.Equal(512, perHead[0]);                                    // 256 and 512 tokens: still buffered
        Assert.Equal(512, perHead[1]);
        Assert.All(perHead.Skip(2), b => Assert.Equal(56, b, 6));          // past 512: coded
        Assert.Equal(512, buffered.Memory.BytesPerTokenPerHead);

        // The buffered prompt holds every layer's F32 rows; the streamed one its codes, the exact first and last tokens
        // and one layer's decoded rows.
        long f32Rows = 3072L * shape.Layers * shape.KvHeads * 2 * 64 * sizeof(float);
        Assert.True(buffered.Memory.Bytes >= f32Rows);
        Assert.True(streamed.Memory.Bytes < f32Rows / 2, $"{streamed.Memory.Bytes} B streamed against {f32Rows} B of F32 rows");

        // After the boundary both are the compressed cache: 56 B a token and head.
        Decode(streamed, shape, 3072, seed: 7);
        Decode(buffered, shape, 3072, seed: 7);
        Assert.Equal(56, streamed.Memory.BytesPerTokenPerHead, 6);
        Assert.Equal(56, buffered.Memory.BytesPerTokenPerHead, 6);
    }

    [Fact]
    public void StreamedPrefillAttendsTheRowsItHolds()
    {
        // Prefill over a streaming store is exact attention over what it returns: F16 sinks, 2-bit middle, exact tail.
        // With every token inside the exact sets it matches a buffered prompt (median centring cancels in softmax).
        var shape = new KvCacheShape(Layers: 1, Heads: 4, KvHeads: 2, HeadDim: 64, Capacity: 300);
        var p = MakePrompt(shape, 256, seed: 8);
        var exact = Prefill(new SelfIndexKvCache(shape, new SelfIndexOptions()), p, chunk: 64);
        var streamed = Prefill(new SelfIndexKvCache(shape, new SelfIndexOptions { StatisticsTokens = 64, ExactFirst = 64, ExactLast = 256 }), p, chunk: 64);
        for (int i = 0; i < exact.Length; i++) Assert.Equal(exact[i], streamed[i], 2e-2);
    }

    [Fact]
    public void TruncationAndCopiesKeepTheCompressedState()
    {
        var shape = new KvCacheShape(Layers: 2, Heads: 4, KvHeads: 2, HeadDim: 32, Capacity: 400);
        var p = MakePrompt(shape, 300, seed: 9);
        var options = new SelfIndexOptions { DenseSet = 8, StatisticsTokens = 100, ExactLast = 64, Budget = KvBudget.OfTokens(20) };
        var a = SelfIndexKvCache.Create(shape, options);
        Prefill(a, p, chunk: 64);
        var first = Decode(a, shape, 300, seed: 10);
        var b = SelfIndexKvCache.Create(shape, options);
        b.CopyFrom(a);
        a.Truncate(300);
        b.Truncate(300);
        // The copy decodes as the original, and both as before the truncation forgot the decoded token.
        Assert.Equal(first, Decode(a, shape, 300, seed: 10));
        Assert.Equal(first, Decode(b, shape, 300, seed: 10));
        Assert.Throws<NotSupportedException>(() => a.Truncate(200));   // into the compressed prompt
        a.Truncate(0);
        Assert.Equal(0, a.Length);
        var again = SelfIndexKvCache.Create(shape, options);
        Prefill(a, p, chunk: 64);
        Prefill(again, p, chunk: 64);
        Assert.Equal(Decode(again, shape, 300, seed: 10), Decode(a, shape, 300, seed: 10));
    }

    /// <summary>
    /// The fixture story's 448-token prompt prefilled in chunks of 64, compressed at the boundary as the method is
    /// written, and streamed from its 128th token (statistics of the first 128; the first 16 and the latest 64 prompt
    /// tokens exact, the rest attended as coded rows during prefill too), at a quarter budget and a 16-token dense set.
    /// </summary>
    (KvPerplexityResult Method, KvPerplexityResult Streamed, KvPerplexityResult Index, KvPerplexityResult IndexStreamed) Streaming(string model)
    {
        using var m = SieveModel.Load(model);
        var tokens = m.Tokenizer.Encode(File.ReadAllText(Path.Combine(Fixtures.Dir, "stories260K-sample", "story.txt")));
        tokens = tokens[..Math.Min(512, tokens.Length)];
        const int prefix = 448;
        var runner = m.CreateRunner(64);
        var dense = KvPerplexity.LogProbs(runner, tokens, prefix, runner.CreateDenseCache(tokens.Length));
        KvPerplexityResult Run(string name, SelfIndexOptions o)
        {
            var r = KvPerplexity.Evaluate(runner, tokens, prefix, name,
                trace => SelfIndexKvCache.Create(KvCacheShape.Of(m.Config, tokens.Length), o with { Trace = trace }, runner.Pool), dense, fidelity: true);
            var l = r.Fidelity!;
            output.WriteLine($"{Path.GetFileName(model)}, {name}: PPL {r.Perplexity:F4} (dense {r.BasePerplexity:F4}), KL {r.MeanKl:F5}, " +
                $"recall@K {l.Average(x => x.Recall):F3}, mass {l.Average(x => x.Mass):F3}, cosine {l.Average(x => x.Cosine):F4}");
            return r;
        }
        var quarter = new SelfIndexOptions { Budget = KvBudget.OfFraction(0.25), DenseSet = 16 };
        var streaming = quarter with { StatisticsTokens = 128, ExactFirst = 16, ExactLast = 64 };
        return (Run("selfindex", quarter), Run("selfindex, streamed from token 128", streaming),
            Run("selfindex-f16", quarter with { FullPrecisionStorage = true }),
            Run("selfindex-f16, streamed from token 128", streaming with { FullPrecisionStorage = true }));
    }

    static double Recall(KvPerplexityResult r) => r.Fidelity!.Average(l => l.Recall);

    [Fact]
    public void StreamingOnStories260K()
    {
        var (method, streamed, index, indexStreamed) = Streaming(Fixtures.Stories260KGguf);
        // Statistics of the first 128 of 448 tokens cost the index recall: measured 0.61 against 0.71 (0.64 from 256
        // tokens, 0.71 from 384). Over F16 rows prefill is nearly exact and KL stays small (0.003 against 0.004).
        Assert.InRange(Recall(indexStreamed), 0.5, Recall(index));
        Assert.InRange(indexStreamed.MeanKl!.Value, 0, 0.02);
        // At head dim 8 a 2-bit key comes back with ~13% error; attending such rows during prefill too compounds it
        // through the layers: measured KL 2.7 and PPL 45 against 1.0 and 7.8 when only decode reads them.
        Assert.InRange(streamed.MeanKl!.Value, method.MeanKl!.Value, 5);
        Assert.InRange(Recall(streamed), 0.5, 1.0);
    }

    [Fact]
    public void StreamingOnTinyKWithHeadDim64()
    {
        var (method, streamed, index, indexStreamed) = Streaming(Fixtures.TinyK("f32"));
        Assert.InRange(Recall(streamed), 0.5, 1.0);
        Assert.InRange(Recall(indexStreamed), 0.5, 1.0);
        Assert.InRange(streamed.MeanKl!.Value, 0, 0.1);
        Assert.InRange(indexStreamed.MeanKl!.Value, 0, 0.05);
        _ = (method, index);
    }
}
