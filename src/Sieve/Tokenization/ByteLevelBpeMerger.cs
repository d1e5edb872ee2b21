namespace Sieve.Tokenization;

/// <summary>
/// Rank-ordered BPE over one byte-level word (llama.cpp's algorithm: repeatedly merge the adjacent pair with
/// the lowest merge rank, leftmost on ties), kept O(n log n) with a priority queue.
/// </summary>
/// <remarks>
/// Microsoft.ML.Tokenizers' BpeTokenizer does the merging for ordinary words, but its time grows with the
/// square of the word length (a 100,000-character word without spaces or punctuation took ~0.9 s, and each
/// doubling ~3.4× longer), so long words, which only unusual input has, come here instead. Both give the
/// same tokens; a test checks that on the llama.cpp vectors.
/// </remarks>
sealed class ByteLevelBpeMerger
{
    readonly Vocabulary _vocab;
    readonly Dictionary<string, int> _ranks;
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _ranksBySpan;

    struct Symbol { public int Start, Length, Prev, Next; }
    readonly record struct Bigram(int Left, int Right, int Length);

    /// <param name="merges">"left right" strings, highest priority first.</param>
    public ByteLevelBpeMerger(Vocabulary vocab, IReadOnlyList<string> merges)
    {
        _vocab = vocab;
        _ranks = new Dictionary<string, int>(merges.Count, StringComparer.Ordinal);
        for (int i = 0; i < merges.Count; i++) _ranks.TryAdd(merges[i], i);   // a repeated merge keeps its first rank
        _ranksBySpan = _ranks.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <param name="word">The word already spelled in the byte-level alphabet (one char per byte).</param>
    public void Encode(string word, List<int> output)
    {
        var sym = new Symbol[word.Length];
        for (int i = 0; i < word.Length; i++) sym[i] = new Symbol { Start = i, Length = 1, Prev = i - 1, Next = i + 1 < word.Length ? i + 1 : -1 };

        var queue = new PriorityQueue<Bigram, (int Rank, int Left)>();
        char[] key = new char[word.Length + 1];
        for (int i = 1; i < sym.Length; i++) TryAdd(word, sym, queue, key, i - 1, i);

        while (queue.TryDequeue(out var b, out _))
        {
            ref var left = ref sym[b.Left];
            ref var right = ref sym[b.Right];
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != b.Length) continue;   // stale
            left.Length += right.Length;
            right.Length = 0;
            left.Next = right.Next;
            if (right.Next >= 0) sym[right.Next].Prev = b.Left;
            TryAdd(word, sym, queue, key, left.Prev, b.Left);
            TryAdd(word, sym, queue, key, b.Left, left.Next);
        }

        for (int i = 0; i != -1 && word.Length > 0; i = sym[i].Next)
        {
            var piece = word.AsSpan(sym[i].Start, sym[i].Length);
            if (_vocab.TryGetId(piece, out int id)) { output.Add(id); continue; }
            // A merge result missing from the vocabulary: spell it byte by byte (characters the vocabulary cannot
            // spell at all are dropped, as BpeTokenizer drops them).
            for (int c = 0; c < piece.Length; c++)
                if (_vocab.TryGetId(piece.Slice(c, 1), out int single)) output.Add(single);
        }
    }

    void TryAdd(string word, Symbol[] sym, PriorityQueue<Bigram, (int, int)> queue, char[] key, int left, int right)
    {
        if (left < 0 || right < 0) return;
        var l = word.AsSpan(sym[left].Start, sym[left].Length);
        var r = word.AsSpan(sym[right].Start, sym[right].Length);
        l.CopyTo(key);
        key[l.Length] = ' ';
        r.CopyTo(key.AsSpan(l.Length + 1));
        if (_ranksBySpan.TryGetValue(key.AsSpan(0, l.Length + 1 + r.Length), out int rank))
            queue.Enqueue(new Bigram(left, right, l.Length + r.Length), (rank, left));
    }
}
