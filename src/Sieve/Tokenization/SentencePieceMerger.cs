using System.Text;

namespace Sieve.Tokenization;

/// <summary>
/// SentencePiece-style BPE over one run of escaped text ("▁Hello▁world"), with llama.cpp's semantics: start
/// from one symbol per code point, repeatedly merge the adjacent pair whose concatenation is a vocabulary token
/// with the highest score (leftmost on ties), then emit each symbol's token, or its UTF-8 bytes as byte tokens
/// when it is not in the vocabulary.
/// </summary>
/// <remarks>
/// Hand-written rather than delegated to Microsoft.ML.Tokenizers' SentencePieceTokenizer: fed the same Llama 2
/// vocabulary (as an in-memory ModelProto), version 2.0.1 merges some runs in a different order than llama.cpp
/// and SentencePiece do ("!!!!!!" gives ▁! !!! !! instead of ▁! !! !!!), so it cannot reproduce llama.cpp's test
/// vectors; a test pins that difference. The queue makes this O(n log n) in the run length.
/// </remarks>
sealed class SentencePieceMerger(Vocabulary vocab, int unknownId)
{
    readonly int[] _byteTokens = BuildByteTokens(vocab, unknownId);

    struct Symbol { public int Start, Length, Prev, Next; }

    readonly record struct Bigram(int Left, int Right, int Length);

    // Highest score first, then the leftmost pair (smaller left index).
    sealed class Order : IComparer<(float Score, int Left)>
    {
        public static readonly Order Instance = new();
        public int Compare((float Score, int Left) a, (float Score, int Left) b)
        {
            int c = b.Score.CompareTo(a.Score);
            return c != 0 ? c : a.Left.CompareTo(b.Left);
        }
    }

    public void Encode(ReadOnlySpan<char> text, List<int> output)
    {
        if (text.IsEmpty) return;
        var symbols = new List<Symbol>(text.Length);
        for (int i = 0; i < text.Length;)
        {
            int len = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            symbols.Add(new Symbol { Start = i, Length = len, Prev = symbols.Count - 1, Next = i + len < text.Length ? symbols.Count + 1 : -1 });
            i += len;
        }
        var sym = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(symbols);

        var queue = new PriorityQueue<Bigram, (float, int)>(Order.Instance);
        for (int i = 1; i < sym.Length; i++) TryAddBigram(text, sym, queue, i - 1, i);

        while (queue.TryDequeue(out var bigram, out _))
        {
            ref var left = ref sym[bigram.Left];
            ref var right = ref sym[bigram.Right];
            // Stale entry: one side was merged away, or grew, since the pair was queued.
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != bigram.Length) continue;
            left.Length += right.Length;
            right.Length = 0;
            left.Next = right.Next;
            if (right.Next >= 0) sym[right.Next].Prev = bigram.Left;
            TryAddBigram(text, sym, queue, left.Prev, bigram.Left);
            TryAddBigram(text, sym, queue, bigram.Left, left.Next);
        }

        Span<byte> utf8 = stackalloc byte[8];
        for (int i = 0; i != -1; i = sym[i].Next)
        {
            var piece = text.Slice(sym[i].Start, sym[i].Length);
            if (vocab.TryGetId(piece, out int id)) { output.Add(id); continue; }
            // Merges only ever form vocabulary tokens, so only a lone code point can be missing: spell its bytes.
            int n = Encoding.UTF8.GetBytes(piece, utf8);
            for (int b = 0; b < n; b++) output.Add(_byteTokens[utf8[b]]);
        }
    }

    void TryAddBigram(ReadOnlySpan<char> text, Span<Symbol> sym, PriorityQueue<Bigram, (float, int)> queue, int left, int right)
    {
        if (left < 0 || right < 0) return;
        int length = sym[left].Length + sym[right].Length;
        if (!vocab.TryGetId(text.Slice(sym[left].Start, length), out int id)) return;
        queue.Enqueue(new Bigram(left, right, length), (vocab.ScoreOf(id), left));
    }

    /// <summary>
    /// The token for each byte: "&lt;0xNN&gt;" where the vocabulary has it, else the one-character token for an
    /// ASCII byte, else unknown (llama.cpp's byte_to_token order).
    /// </summary>
    static int[] BuildByteTokens(Vocabulary vocab, int unk)
    {
        var table = new int[256];
        for (int b = 0; b < 256; b++)
        {
            int id = vocab.IdOf($"<0x{b:X2}>");
            if (id < 0 && b < 0x80) id = vocab.IdOf(((char)b).ToString());
            table[b] = id >= 0 ? id : Math.Max(unk, 0);
        }
        return table;
    }
}
