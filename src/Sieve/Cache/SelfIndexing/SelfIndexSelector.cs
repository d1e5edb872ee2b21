using Sieve.Cache.Sparse;
using Sieve.Kernels;

namespace Sieve.Cache.SelfIndexing;

/// <summary>
/// Self-Indexing's decode-time selection (method notes §1.3, decode steps 2–4) over a <see cref="SelfIndexStore"/>'s
/// sign codes: the GQA-averaged query scores every compressed candidate by 16-centroid table lookup (or, in the
/// ablations, by sign agreement with the median-centred query, or at random), and the top K are attended. The dense
/// set is pinned: always attended, never scored.
/// </summary>
/// <remarks>
/// Candidates arrive as positions; the scorers work on the head's compressed slots (the prompt's non-dense tokens in
/// order, then the generated ones), so slot indices, scores and ties are those of the method's own layout.
/// </remarks>
public sealed class SelfIndexSelector(SelfIndexOptions options) : ITokenSelector
{
    public string Name => "selfindex";
    public IHeadSelector CreateHead(int layer, int kvHead) => new Head(options, layer, kvHead);

    /// <summary>The last prompt query picks the dense set; the Hamming ablation centres its query by the median of more.</summary>
    public int QueryWindow => options.Scorer == SelfIndexScorer.Hamming ? Math.Max(1, options.QueryWindow) : 1;

    sealed unsafe class Head(SelfIndexOptions o, int layer, int kvHead) : IHeadSelector, ICopyableIndex
    {
        [ThreadStatic] static Scratch? t_scratch;

        sealed class Scratch
        {
            public float[] Scores = [], Lut = [], Qbar = [];
            public int[] IntScores = [], Picked = [];
            public byte[] QueryBits = [];
        }

        float[]? _queryMedian;   // Hamming: the per-channel median of the prompt window's GQA-averaged queries
        int[] _pinned = [];

        public ReadOnlySpan<int> Pinned => _pinned;

        public void OnBoundary(PressInput boundary)
        {
            if (o.Scorer == SelfIndexScorer.Hamming) _queryMedian = WindowMedian(boundary, boundary.Store.HeadDim);
        }

        public void Build(IKvStore store) => _pinned = Compressed(store).DensePositions;
        public void OnAppend(IKvStore store, int slot) { }

        public void CopyFrom(IHeadSelector source)
        {
            var s = (Head)source;
            _queryMedian = (float[]?)s._queryMedian?.Clone();
            _pinned = s._pinned;
        }

        static SelfIndexHead Compressed(IKvStore store) =>
            store is SelfIndexStore { Head: { } h, Streaming: false } ? h : throw new InvalidOperationException("the Self-Indexing selector needs a compressed Self-Indexing store");

        public int Select(IKvStore store, ReadOnlySpan<float> queries, int first, int end, int k, int position, List<int> picked)
        {
            var head = Compressed(store);
            int hd = head.HeadDim;
            int from = head.SlotsBefore(first), candidates = head.SlotsBefore(end);
            k = Math.Min(k, candidates - from);
            if (k <= 0) return 0;
            var sc = t_scratch ??= new Scratch();
            Ensure(ref sc.Qbar, hd);
            GroupQuery.Mean(queries, hd, sc.Qbar);
            int padded = (candidates + SignCodes.BlockTokens - 1) / SignCodes.BlockTokens * SignCodes.BlockTokens;
            Ensure(ref sc.Scores, padded);
            Ensure(ref sc.Picked, k);
            int n;
            fixed (float* scores = sc.Scores) fixed (int* pick = sc.Picked)
            {
                Score(head, position, candidates, padded, sc, scores);
                n = TopK.Select(scores + from, candidates - from, k, pick);
            }
            Array.Sort(sc.Picked, 0, n);
            for (int i = 0; i < n; i++) picked.Add(head.PositionOf(from + sc.Picked[i]));
            return n;
        }

        void Score(SelfIndexHead head, int pos, int candidates, int padded, Scratch sc, float* scores)
        {
            int hd = head.HeadDim;
            switch (o.Scorer)
            {
                case SelfIndexScorer.Lut:
                    Ensure(ref sc.Lut, SignCodes.Groups(hd) * 16);
                    head.BuildLut(sc.Qbar, sc.Lut);
                    head.ScoreLut(sc.Lut, candidates, scores);
                    break;
                case SelfIndexScorer.Hamming:
                {
                    int codeBytes = SignCodes.CodeBytes(hd);
                    Ensure(ref sc.QueryBits, codeBytes);
                    Array.Clear(sc.QueryBits, 0, codeBytes);
                    for (int j = 0; j < hd; j++)
                        if (sc.Qbar[j] - (_queryMedian?[j] ?? 0) > 0) sc.QueryBits[j >> 3] |= (byte)(1 << (j & 7));
                    Ensure(ref sc.IntScores, padded);
                    fixed (int* ints = sc.IntScores) head.ScoreHamming(sc.QueryBits, candidates, ints);
                    for (int t = 0; t < candidates; t++) scores[t] = sc.IntScores[t];
                    break;
                }
                default:
                    for (int t = 0; t < candidates; t++) scores[t] = RandomScore(layer, kvHead, pos, t);
                    break;
            }
        }

        /// <summary>Per channel, the median of the window's GQA-averaged queries (zero when no query was seen).</summary>
        static float[] WindowMedian(PressInput window, int hd)
        {
            var result = new float[hd];
            int rows = window.WindowRows, g = window.GroupSize;
            if (rows == 0) return result;
            var column = new float[rows * hd];
            for (int r = 0; r < rows; r++)
                GroupQuery.Mean(window.WindowQueries.AsSpan(r * g * hd, g * hd), hd, column.AsSpan(r * hd, hd));
            var col = new float[rows];
            for (int j = 0; j < hd; j++)
            {
                for (int r = 0; r < rows; r++) col[r] = column[r * hd + j];
                result[j] = Median.Lower(col);
            }
            return result;
        }

        static float RandomScore(int layer, int head, int pos, int slot)
        {
            ulong z = (ulong)layer * 0x9E3779B97F4A7C15UL ^ (ulong)head * 0xBF58476D1CE4E5B9UL ^ (ulong)pos * 0x94D049BB133111EBUL ^ (ulong)slot;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return (z ^ (z >> 31)) / (float)ulong.MaxValue;
        }

        static void Ensure<T>(ref T[] a, int n)
        {
            if (a.Length < n) a = new T[Math.Max(n, a.Length * 2)];
        }
    }
}
