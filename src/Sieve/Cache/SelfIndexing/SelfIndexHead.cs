using Sieve.Kernels;

namespace Sieve.Cache.SelfIndexing;

/// <summary>
/// One (layer, KV head) of the Self-Indexing cache after the prompt was compressed (method notes §1.3): the
/// per-channel median m and scale a, the dense set D (centred keys and values in F16), and the compressed tokens —
/// sign bits (the index, in <see cref="SignCodes"/>' blocked layout), 2-bit key magnitudes and 2-bit values with
/// F16 group parameters — plus the 16-centroid table per 4-channel group that turns sign codes into scores.
/// Compressed slots hold the prompt's non-dense tokens in position order, then every token appended after the
/// boundary.
/// </summary>
/// <remarks>
/// Two ways to build one. <see cref="Compress"/> takes the whole prompt at the boundary (the method as written: every
/// statistic over the prompt). <see cref="Begin"/>, <see cref="AppendPrompt"/> and <see cref="Finish"/> code a long
/// prompt as it arrives: median and scale fixed from its first tokens, every later token coded on arrival with them,
/// the centroids accumulated over every coded prompt token, and the dense set chosen at the boundary and taken out of
/// the compressed slots then (<see cref="SelfIndexStore"/> says what it chooses).
/// </remarks>
public sealed class SelfIndexHead
{
    public int HeadDim { get; }
    public float[] Median { get; }
    public float[] ChannelScale { get; }
    /// <summary>Centroid of group g for code c, channel r: [(16g + c)·4 + r], in the centred (not normalised) space.</summary>
    public float[] Centroids { get; }
    public int[] DensePositions { get; private set; }
    Half[] _denseK, _denseV;

    readonly int _codeBytes, _kvBytes, _paramsPerToken;
    readonly byte[] _signs, _kCodes, _vCodes;
    readonly ushort[] _params;
    readonly Half[]? _fullK, _fullV;   // the "index only" ablation: attention reads F16 rows, the codes only select

    /// <summary>Compressed slots in use; the first <see cref="PromptCount"/> are prompt tokens.</summary>
    public int Count { get; private set; }
    public int PromptCount { get; private set; }
    public int SlotCapacity { get; }
    /// <summary>Position of the first token appended after the boundary (slot <see cref="PromptCount"/>).</summary>
    public int GeneratedStart { get; private set; }

    SelfIndexHead(int headDim, int promptTokens, int denseSize, int slotCapacity, bool fullPrecision)
    {
        HeadDim = headDim;
        Median = new float[headDim];
        ChannelScale = new float[headDim];
        _codeBytes = SignCodes.CodeBytes(headDim);
        Centroids = new float[SignCodes.Groups(headDim) * 16 * 4];
        DensePositions = new int[denseSize];
        _denseK = new Half[denseSize * headDim];
        _denseV = new Half[denseSize * headDim];
        PromptCount = promptTokens - denseSize;
        GeneratedStart = promptTokens;
        SlotCapacity = slotCapacity;
        _kvBytes = TwoBitGroups.CodeBytes(headDim);
        _paramsPerToken = 2 * TwoBitGroups.GroupCount(headDim);
        int blocks = (slotCapacity + SignCodes.BlockTokens - 1) / SignCodes.BlockTokens;
        _signs = new byte[blocks * SignCodes.BlockBytes(headDim)];
        _kCodes = new byte[slotCapacity * _kvBytes];
        _vCodes = new byte[slotCapacity * _kvBytes];
        _params = new ushort[slotCapacity * 2 * _paramsPerToken];
        if (fullPrecision)
        {
            _fullK = new Half[slotCapacity * headDim];
            _fullV = new Half[slotCapacity * headDim];
        }
    }

    /// <summary>
    /// Compresses one head's prompt. <paramref name="keys"/> and <paramref name="values"/> are N rows of
    /// <paramref name="stride"/> floats starting at this head's offset; <paramref name="query"/> is the GQA-averaged
    /// last prompt query (null: no query was seen, keep the most recent tokens dense instead).
    /// <paramref name="fullPrecision"/> keeps F16 rows beside the codes for attention (the ablation that isolates
    /// the index from the 2-bit storage).
    /// </summary>
    public static SelfIndexHead Compress(ReadOnlySpan<float> keys, ReadOnlySpan<float> values, int stride, int tokens, int headDim,
        ReadOnlySpan<float> query, int denseSize, int slotCapacity, bool fullPrecision = false)
    {
        denseSize = Math.Min(denseSize, tokens);
        var h = new SelfIndexHead(headDim, tokens, denseSize, Math.Max(slotCapacity, tokens - denseSize), fullPrecision);

        // 1. Median centring: every key, dense or compressed, now or later, is k − m.
        var centred = new float[tokens * headDim];
        for (int t = 0; t < tokens; t++)
            keys.Slice(t * stride, headDim).CopyTo(centred.AsSpan(t * headDim, headDim));
        var column = new float[tokens];
        for (int j = 0; j < headDim && tokens > 0; j++)   // an empty prompt (decode from nothing) centres by zero
        {
            for (int t = 0; t < tokens; t++) column[t] = centred[t * headDim + j];
            h.Median[j] = SelfIndexing.Median.Lower(column);
        }
        for (int t = 0; t < tokens; t++)
            for (int j = 0; j < headDim; j++) centred[t * headDim + j] -= h.Median[j];

        // 2. Dense set: the top tokens by exact score against the last prompt query.
        var dense = new int[denseSize];
        var scores = new float[tokens];
        if (!query.IsEmpty)
            for (int t = 0; t < tokens; t++) scores[t] = System.Numerics.Tensors.TensorPrimitives.Dot(query, centred.AsSpan(t * headDim, headDim));
        else
            for (int t = 0; t < tokens; t++) scores[t] = t;
        unsafe
        {
            fixed (float* ps = scores) fixed (int* pd = dense) TopK.Select(ps, tokens, denseSize, pd);
        }
        Array.Sort(dense);
        dense.CopyTo(h.DensePositions, 0);
        var isDense = new bool[tokens];
        foreach (int t in dense) isDense[t] = true;
        for (int i = 0; i < denseSize; i++)
            for (int j = 0; j < headDim; j++)
            {
                h._denseK[i * headDim + j] = (Half)centred[dense[i] * headDim + j];
                h._denseV[i * headDim + j] = (Half)values[dense[i] * stride + j];
            }

        // 3. Per-channel scale over the compressed tokens (a zero column keeps scale 1: its codes are all zero anyway).
        for (int t = 0; t < tokens; t++)
            if (!isDense[t])
                for (int j = 0; j < headDim; j++) h.ChannelScale[j] = MathF.Max(h.ChannelScale[j], MathF.Abs(centred[t * headDim + j]));
        for (int j = 0; j < headDim; j++) if (!(h.ChannelScale[j] > 0)) h.ChannelScale[j] = 1;

        // 4–7. Sign bits, 2-bit magnitudes and values for the compressed tokens, in position order.
        for (int t = 0; t < tokens; t++)
            if (!isDense[t]) h.Store(centred.AsSpan(t * headDim, headDim), values.Slice(t * stride, headDim));

        // 8. Centroids: the mean centred sub-vector of each (group, code) over the compressed prompt tokens.
        h.BuildCentroids(centred, isDense);
        return h;
    }

    // Centroid accumulators: Centroids holds the per-(group, code) sums until FinishCentroids divides them.
    int[] _bucketCounts = [];
    double[] _absSums = [];
    int _centroidTokens;
    bool _open;   // a streamed prompt not yet finished

    void BuildCentroids(float[] centred, bool[] isDense)
    {
        for (int t = 0; t < isDense.Length; t++)
            if (!isDense[t]) Accumulate(centred.AsSpan(t * HeadDim, HeadDim));
        FinishCentroids();
    }

    /// <summary>Adds one compressed token's centred key to the bucket sums of its codes.</summary>
    void Accumulate(ReadOnlySpan<float> k)
    {
        int groups = SignCodes.Groups(HeadDim);
        if (_bucketCounts.Length == 0) { _bucketCounts = new int[groups * 16]; _absSums = new double[HeadDim]; }
        _centroidTokens++;
        for (int g = 0; g < groups; g++)
        {
            int code = 0;
            for (int r = 0; r < 4 && 4 * g + r < HeadDim; r++) if (k[4 * g + r] > 0) code |= 1 << r;
            _bucketCounts[g * 16 + code]++;
            for (int r = 0; r < 4 && 4 * g + r < HeadDim; r++) Centroids[(g * 16 + code) * 4 + r] += k[4 * g + r];
        }
        for (int j = 0; j < HeadDim; j++) _absSums[j] += MathF.Abs(k[j]);
    }

    void FinishCentroids()
    {
        int groups = SignCodes.Groups(HeadDim), compressed = _centroidTokens;
        if (_bucketCounts.Length == 0) { _bucketCounts = new int[groups * 16]; _absSums = new double[HeadDim]; }
        var counts = _bucketCounts;
        var meanAbs = _absSums;
        for (int j = 0; j < HeadDim; j++) meanAbs[j] = compressed > 0 ? meanAbs[j] / compressed : 0;
        for (int g = 0; g < groups; g++)
            for (int c = 0; c < 16; c++)
                for (int r = 0; r < 4 && 4 * g + r < HeadDim; r++)
                {
                    ref float cell = ref Centroids[(g * 16 + c) * 4 + r];
                    // An empty bucket (the reference divides by zero there) gets the sign-consistent mean magnitude:
                    // the code's own signs times the channel's mean |k̃| — the expected centroid under independence.
                    cell = counts[g * 16 + c] > 0 ? cell / counts[g * 16 + c] : (float)(((c >> r) & 1) != 0 ? meanAbs[4 * g + r] : -meanAbs[4 * g + r]);
                }
        _bucketCounts = [];
        _absSums = [];
        _centroidTokens = 0;
    }

    /// <summary>
    /// Starts a streamed prompt: the per-channel median and scale come from these <paramref name="tokens"/> rows (the
    /// scale over all of them: the dense set is not known yet), and the first <paramref name="code"/> of them are
    /// coded into slots 0.. now. Slots equal positions until <see cref="Finish"/>.
    /// </summary>
    public static SelfIndexHead Begin(ReadOnlySpan<float> keys, ReadOnlySpan<float> values, int stride, int tokens, int headDim,
        int code, int slotCapacity, bool fullPrecision = false)
    {
        if (tokens <= 0) throw new ArgumentException("statistics need at least one token");
        var h = new SelfIndexHead(headDim, 0, 0, Math.Max(slotCapacity, tokens), fullPrecision) { _open = true };
        var column = new float[tokens];
        for (int j = 0; j < headDim; j++)
        {
            for (int t = 0; t < tokens; t++) column[t] = keys[t * stride + j];
            h.Median[j] = SelfIndexing.Median.Lower(column);
        }
        for (int t = 0; t < tokens; t++)
            for (int j = 0; j < headDim; j++) h.ChannelScale[j] = MathF.Max(h.ChannelScale[j], MathF.Abs(keys[t * stride + j] - h.Median[j]));
        for (int j = 0; j < headDim; j++) if (!(h.ChannelScale[j] > 0)) h.ChannelScale[j] = 1;
        Span<float> centred = stackalloc float[headDim];
        for (int t = 0; t < code; t++)
        {
            for (int j = 0; j < headDim; j++) centred[j] = keys[t * stride + j] - h.Median[j];
            h.AppendPrompt(centred, values.Slice(t * stride, headDim));
        }
        return h;
    }

    /// <summary>Codes the next prompt token of a streamed prompt (its key already centred) into the next slot.</summary>
    public void AppendPrompt(ReadOnlySpan<float> centred, ReadOnlySpan<float> value)
    {
        if (!_open) throw new InvalidOperationException("this head's prompt is not being streamed");
        if (Count >= SlotCapacity) throw new InvalidOperationException($"the compressed KV store holds {SlotCapacity} tokens");
        Store(centred, value);
        Accumulate(centred);
    }

    /// <summary>
    /// Ends a streamed prompt at the boundary: the tokens at <paramref name="dense"/> (ascending positions, each a
    /// coded slot so far) leave the compressed slots for the dense set with the given centred keys and values, the
    /// other slots close up in position order, and the centroids become the bucket means over every coded prompt
    /// token (the dense ones included: their exact keys may be gone by now).
    /// </summary>
    public void Finish(ReadOnlySpan<int> dense, ReadOnlySpan<float> denseKeys, ReadOnlySpan<float> denseValues)
    {
        if (!_open) throw new InvalidOperationException("this head's prompt is not being streamed");
        _open = false;
        int tokens = Count, d = dense.Length;
        DensePositions = dense.ToArray();
        _denseK = new Half[d * HeadDim];
        _denseV = new Half[d * HeadDim];
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(denseKeys[..(d * HeadDim)], _denseK);
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(denseValues[..(d * HeadDim)], _denseV);
        int write = 0, next = 0;
        for (int slot = 0; slot < tokens; slot++)
        {
            if (next < d && dense[next] == slot) { next++; continue; }
            if (write != slot) MoveSlot(slot, write);
            write++;
        }
        Count = write;
        PromptCount = write;
        GeneratedStart = tokens;
        FinishCentroids();
    }

    void MoveSlot(int from, int to)
    {
        for (int i = 0; i < _codeBytes; i++)
            _signs[SignCodes.Offset(_codeBytes, to, i)] = _signs[SignCodes.Offset(_codeBytes, from, i)];
        Array.Copy(_kCodes, from * _kvBytes, _kCodes, to * _kvBytes, _kvBytes);
        Array.Copy(_vCodes, from * _kvBytes, _vCodes, to * _kvBytes, _kvBytes);
        Array.Copy(_params, from * 2 * _paramsPerToken, _params, to * 2 * _paramsPerToken, 2 * _paramsPerToken);
        if (_fullK != null)
        {
            Array.Copy(_fullK, from * HeadDim, _fullK, to * HeadDim, HeadDim);
            Array.Copy(_fullV!, from * HeadDim, _fullV!, to * HeadDim, HeadDim);
        }
    }

    /// <summary>A copy of this head (one prompt's cache expanded to several sequences).</summary>
    public SelfIndexHead Clone() => new(this);

    SelfIndexHead(SelfIndexHead o)
    {
        HeadDim = o.HeadDim;
        Median = (float[])o.Median.Clone();
        ChannelScale = (float[])o.ChannelScale.Clone();
        Centroids = (float[])o.Centroids.Clone();
        DensePositions = (int[])o.DensePositions.Clone();
        _denseK = (Half[])o._denseK.Clone();
        _denseV = (Half[])o._denseV.Clone();
        (_codeBytes, _kvBytes, _paramsPerToken) = (o._codeBytes, o._kvBytes, o._paramsPerToken);
        _signs = (byte[])o._signs.Clone();
        _kCodes = (byte[])o._kCodes.Clone();
        _vCodes = (byte[])o._vCodes.Clone();
        _params = (ushort[])o._params.Clone();
        _fullK = (Half[]?)o._fullK?.Clone();
        _fullV = (Half[]?)o._fullV?.Clone();
        _bucketCounts = (int[])o._bucketCounts.Clone();
        _absSums = (double[])o._absSums.Clone();
        (_centroidTokens, _open) = (o._centroidTokens, o._open);
        (Count, PromptCount, SlotCapacity, GeneratedStart) = (o.Count, o.PromptCount, o.SlotCapacity, o.GeneratedStart);
    }

    /// <summary>Appends a token after the boundary: centred with the prompt's median, normalised with its scale.</summary>
    public void Append(ReadOnlySpan<float> key, ReadOnlySpan<float> value)
    {
        if (_open) throw new InvalidOperationException("a streamed prompt must be finished before tokens are appended after it");
        if (Count >= SlotCapacity) throw new InvalidOperationException($"the compressed KV store holds {SlotCapacity} tokens");
        Span<float> centred = stackalloc float[HeadDim];
        for (int j = 0; j < HeadDim; j++) centred[j] = key[j] - Median[j];
        Store(centred, value);
    }

    void Store(ReadOnlySpan<float> centred, ReadOnlySpan<float> value)
    {
        int slot = Count++;
        Span<float> normalised = stackalloc float[HeadDim];
        for (int j = 0; j < HeadDim; j++) normalised[j] = centred[j] / ChannelScale[j];
        SignCodes.Pack(normalised, _signs, slot);
        var p = _params.AsSpan(slot * 2 * _paramsPerToken, 2 * _paramsPerToken);
        TwoBitGroups.Encode(normalised, magnitude: true, _kCodes.AsSpan(slot * _kvBytes, _kvBytes), p[.._paramsPerToken]);
        TwoBitGroups.Encode(value, magnitude: false, _vCodes.AsSpan(slot * _kvBytes, _kvBytes), p[_paramsPerToken..]);
        if (_fullK != null)
        {
            System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(centred, _fullK.AsSpan(slot * HeadDim, HeadDim));
            System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(value[..HeadDim], _fullV!.AsSpan(slot * HeadDim, HeadDim));
        }
    }

    /// <summary>Forgets compressed slots from <paramref name="count"/> on (tokens appended after the boundary only).</summary>
    public void TruncateSlots(int count)
    {
        if (count < PromptCount) throw new InvalidOperationException("cannot forget compressed prompt tokens");
        Count = Math.Min(Count, count);
    }

    /// <summary>Compressed slots whose position is below <paramref name="position"/> (after the prompt was finished).</summary>
    public int SlotsBefore(int position)
    {
        if (position >= GeneratedStart) return Math.Min(Count, PromptCount + position - GeneratedStart);
        int dense = Array.BinarySearch(DensePositions, position);
        return position - (dense >= 0 ? dense : ~dense);
    }

    /// <summary>The dense-set row of a position, or −1 when the position is a compressed slot.</summary>
    public int DenseIndex(int position)
    {
        if (position >= GeneratedStart) return -1;
        int i = Array.BinarySearch(DensePositions, position);
        return i >= 0 ? i : -1;
    }

    /// <summary>Position of a compressed slot: prompt slots skip the dense positions; later slots follow the prompt.</summary>
    public int PositionOf(int slot)
    {
        if (slot >= PromptCount) return GeneratedStart + slot - PromptCount;
        int pos = slot;
        foreach (int d in DensePositions) if (d <= pos) pos++;
        return pos;
    }

    /// <summary>The table T[16g + c] = centroid_g[c] · q̄_g for this query (padding groups contribute zero).</summary>
    public void BuildLut(ReadOnlySpan<float> query, Span<float> lut)
    {
        int groups = SignCodes.Groups(HeadDim);
        for (int g = 0; g < groups; g++)
            for (int c = 0; c < 16; c++)
            {
                float s = 0;
                for (int r = 0; r < 4 && 4 * g + r < HeadDim; r++) s += Centroids[(g * 16 + c) * 4 + r] * query[4 * g + r];
                lut[g * 16 + c] = s;
            }
    }

    public unsafe void ScoreLut(ReadOnlySpan<float> lut, int tokens, float* scores, bool scalar = false)
    {
        int blocks = (tokens + SignCodes.BlockTokens - 1) / SignCodes.BlockTokens;
        fixed (byte* codes = _signs) fixed (float* t = lut)
        {
            if (scalar) SignCodes.ScoreLutScalar(codes, blocks, _codeBytes, t, scores);
            else SignCodes.ScoreLut(codes, blocks, _codeBytes, t, scores);
        }
    }

    public unsafe void ScoreHamming(ReadOnlySpan<byte> queryBits, int tokens, int* scores, bool scalar = false)
    {
        int blocks = (tokens + SignCodes.BlockTokens - 1) / SignCodes.BlockTokens;
        fixed (byte* codes = _signs) fixed (byte* q = queryBits)
        {
            if (scalar) SignCodes.ScoreHammingScalar(codes, blocks, _codeBytes, q, HeadDim, scores);
            else SignCodes.ScoreHamming(codes, blocks, _codeBytes, q, HeadDim, scores);
        }
    }

    /// <summary>Sign-code byte i of a slot, and the code of group g (for the reference scorer in tests).</summary>
    public ReadOnlySpan<byte> SignBlocks => _signs;
    public int CodeBytes => _codeBytes;

    /// <summary>Dequantised centred key of a compressed slot.</summary>
    public unsafe void DecodeKey(int slot, Span<float> output)
    {
        if (_fullK != null)
        {
            System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(_fullK.AsSpan(slot * HeadDim, HeadDim), output[..HeadDim]);
            return;
        }
        if (HeadDim % 8 == 0)
        {
            byte* bits = stackalloc byte[_codeBytes];
            for (int i = 0; i < _codeBytes; i++) bits[i] = SignCodes.Byte(_signs, _codeBytes, slot, i);
            fixed (byte* codes = &_kCodes[slot * _kvBytes]) fixed (ushort* p = &_params[slot * 2 * _paramsPerToken])
            fixed (float* a = ChannelScale, o = output)
                TwoBitGroups.DecodeFast(codes, p, bits, a, HeadDim, o);
            return;
        }
        Span<byte> signs = stackalloc byte[_codeBytes];
        for (int i = 0; i < _codeBytes; i++) signs[i] = SignCodes.Byte(_signs, _codeBytes, slot, i);
        TwoBitGroups.DecodeKey(_kCodes.AsSpan(slot * _kvBytes, _kvBytes), _params.AsSpan(slot * 2 * _paramsPerToken, _paramsPerToken),
            signs, ChannelScale, output[..HeadDim]);
    }

    public unsafe void DecodeValue(int slot, Span<float> output)
    {
        if (_fullV != null) System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(_fullV.AsSpan(slot * HeadDim, HeadDim), output[..HeadDim]);
        else if (HeadDim % 8 == 0)
            fixed (byte* codes = &_vCodes[slot * _kvBytes]) fixed (ushort* p = &_params[slot * 2 * _paramsPerToken + _paramsPerToken]) fixed (float* o = output)
                TwoBitGroups.DecodeFast(codes, p, null, null, HeadDim, o);
        else TwoBitGroups.DecodeValues(_vCodes.AsSpan(slot * _kvBytes, _kvBytes), _params.AsSpan(slot * 2 * _paramsPerToken + _paramsPerToken, _paramsPerToken), output[..HeadDim]);
    }

    /// <summary>Dense-set rows [first, first + count) (centred keys, values) as F32, row-major.</summary>
    public void DenseKeys(int first, int count, Span<float> output) =>
        System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(_denseK.AsSpan(first * HeadDim, count * HeadDim), output[..(count * HeadDim)]);

    public void DenseValues(int first, int count, Span<float> output) =>
        System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(_denseV.AsSpan(first * HeadDim, count * HeadDim), output[..(count * HeadDim)]);

    /// <summary>Bytes of the per-token buffers (sign bits, key and value codes, group parameters) per compressed slot.</summary>
    public double BytesPerSlot => (double)(_signs.Length + _kCodes.Length + _vCodes.Length + _params.Length * sizeof(ushort)
        + ((_fullK?.Length ?? 0) + (_fullV?.Length ?? 0)) * 2L) / SlotCapacity;

    /// <summary>Everything this head holds: per-token buffers, the dense set, centroids, median and scale.</summary>
    public long Bytes => _signs.Length + _kCodes.Length + _vCodes.Length + _params.Length * 2L + ((_fullK?.Length ?? 0) + (_fullV?.Length ?? 0)) * 2L
        + (_denseK.Length + _denseV.Length) * 2L + DensePositions.Length * 4L + (Centroids.Length + Median.Length + ChannelScale.Length) * 4L;
}
