using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Sieve.Tensors;
using Sieve.Threading;

namespace Sieve.Kernels.Sparse;

/// <summary>
/// y = W·x for one row x that is mostly zeros, reading only the input-major rows Wt[k] of the non-zero x[k]
/// (CHESS's spvmm): the bytes streamed scale with the density of x. For down_proj, q_proj, o_proj (and every TEAL
/// projection) in decode. One instance per runner: it holds the active-input list.
/// </summary>
/// <remarks>
/// <para>The math, per output o: y[o] = Σ_k x[k]·Wt[k][o] over the k with x[k] ≠ 0, summed in increasing k with one
/// fused multiply-add each. For Q8_0, per 32-input block b: acc[o] = Σ_{k in b} x[k]·q[k][o] (fused, in increasing
/// k), then y[o] = fma(d[b][o], acc[o], y[o]), blocks in increasing b. The SIMD kernels keep exactly this order per
/// lane, so they equal the scalar twin bit for bit, whatever the thread split (outputs are independent).</para>
/// <para>Threads: the active inputs are listed once (and for Q8_0 the blocks that hold one); the outputs are then
/// split into one contiguous range per thread, in units of 64 (a cache line of int8 quants, two of f16, four of
/// f32); each thread streams its range of every active row, adding into its slice of y, which stays in L1
/// (2048 outputs a thread are 8 KB). F32 and F16 rows go four at a time so that y is loaded and stored once per four
/// rows and four streams are in flight.</para>
/// <para>Q8_0 goes otherwise (measured: splitting its outputs across threads streamed 6.7–9.5 GB/s against the
/// dense kernel's 10.6–16.8 on llama-1b's down_proj, 50% density, so the sparse product was no faster). Its blocks
/// fall into <see cref="Partitions"/> fixed ranges of input blocks; a thread takes whole partitions and walks each
/// active row of a block from end to end (one ascending stream through the block's 32 rows, holes where inputs are
/// zero), four rows per pass over an L1-resident accumulator of all outputs. Each partition sums into its own
/// partial y; y is the partials added in partition order. The ranges do not depend on the thread count, so
/// neither do the bits. Single-threaded that walk alone took down_proj at 50% from 1.05× to 1.6–2.0× dense.</para>
/// <para>x must not overlap y (y is cleared first). NaN and ±∞ inputs count as non-zero and propagate as in the
/// dense product; −0 counts as zero.</para>
/// </remarks>
public sealed unsafe class SparseInputMatVec(WorkerPool pool) : IRangeWork
{
    readonly WorkerPool _pool = pool;

    /// <summary>Bytes of weight the last <see cref="Apply"/> (or <see cref="ApplyRows"/>) read.</summary>
    public long LastBytesRead { get; private set; }

    /// <summary>Non-zero inputs of the last product.</summary>
    public int LastActiveInputs => _activeCount;

    /// <summary>Outputs per unit of the thread split (see remarks).</summary>
    public const int ColumnUnit = 64;

    /// <summary>Below this many weight bytes a product runs on the calling thread: waking a worker costs a few µs,
    /// about what 32 KB take to stream.</summary>
    public const long ParallelMinBytes = 32 * 1024;

    /// <summary>Q8_0: fixed ranges of input blocks, each summed apart (see remarks); more than threads on most CPUs.</summary>
    public const int Partitions = 8;

    /// <summary>Q8_0: how many active rows ahead the kernel prefetches (4–16 measured alike within this VM's noise).</summary>
    const int PrefetchRows = 8;

    short[] _xq = GC.AllocateArray<short>(0, pinned: true);          // Q8_0: each active input quantized, as int16
    float[] _dx = GC.AllocateArray<float>(0, pinned: true);          // Q8_0: each active block's scale of x
    float[] _partials = GC.AllocateArray<float>(0, pinned: true);   // [Partitions × Outputs]
    float[] _accs = GC.AllocateArray<float>(0, pinned: true);       // [Partitions × Outputs]
    readonly int[] _partStart = GC.AllocateArray<int>(Partitions + 1, pinned: true);   // into the active-block list
    float* _partPtr, _accPtr;
    bool _byPartition;

    // The active-input list, rebuilt by each product: each active input's value and the address of its row in the copy;
    // for each 32-input block that holds an active input, its index and where its inputs start in the list. Pinned,
    // so the kernels read them through pointers (no bounds checks in the inner loops).
    float[] _values = GC.AllocateArray<float>(0, pinned: true);
    nint[] _rows = GC.AllocateArray<nint>(0, pinned: true);
    int[] _blocks = GC.AllocateArray<int>(0, pinned: true);
    int[] _blockStarts = GC.AllocateArray<int>(1, pinned: true);
    float* _valuePtr;
    byte** _rowPtr;
    int _activeCount, _blockCount;

    // The product in flight (set by Apply for Execute).
    InputMajorWeight? _w;
    float* _y;

    static bool V512 => Vector512.IsHardwareAccelerated && Avx512F.IsSupported;
    static bool V256 => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>y[0..Outputs) = W·x over the non-zero x[0..Inputs).</summary>
    public void Apply(InputMajorWeight w, ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.Length < w.Inputs || y.Length < w.Outputs) throw new ArgumentException($"{w.Name}: sparse product buffers too small");
        fixed (float* px = x, py = y)
        {
            Gather(w, px);
            LastBytesRead = Bytes(w, _activeCount, _blockCount);
            _w = w; _y = py;
            _byPartition = w.Type == GgmlType.Q8_0;
            try
            {
                if (_byPartition)
                {
                    PreparePartitions(w);
                    _pool.Run(this, Partitions, LastBytesRead < ParallelMinBytes ? Partitions : 1);
                    var yspan = new Span<float>(py, w.Outputs);
                    new ReadOnlySpan<float>(_partPtr, w.Outputs).CopyTo(yspan);
                    for (int p = 1; p < Partitions; p++)
                        System.Numerics.Tensors.TensorPrimitives.Add(yspan, new ReadOnlySpan<float>(_partPtr + (long)p * w.Outputs, w.Outputs), yspan);
                }
                else
                {
                    int units = (w.Outputs + ColumnUnit - 1) / ColumnUnit;
                    int grain = LastBytesRead < ParallelMinBytes ? units : (units + _pool.ThreadCount - 1) / _pool.ThreadCount;
                    _pool.Run(this, units, grain);
                }
            }
            finally { _w = null; _y = null; }
        }
    }

    /// <summary>n rows: y[r] = W·x[r] for row-major x [n × Inputs] and y [n × Outputs], one sparse product a row
    /// (when the row-major weight was dropped, prefill runs through here too). <see cref="LastBytesRead"/> is the
    /// sum over the rows.</summary>
    public void ApplyRows(InputMajorWeight w, ReadOnlySpan<float> x, int n, Span<float> y)
    {
        if (x.Length < (long)n * w.Inputs || y.Length < (long)n * w.Outputs) throw new ArgumentException($"{w.Name}: sparse product buffers too small for {n} rows");
        long bytes = 0;
        for (int r = 0; r < n; r++)
        {
            Apply(w, x.Slice(r * w.Inputs, w.Inputs), y.Slice(r * w.Outputs, w.Outputs));
            bytes += LastBytesRead;
        }
        LastBytesRead = bytes;
    }

    /// <summary>Lists the non-zero inputs, 32 at a time (a Q8_0 block): a block whose 32 values are all zero costs
    /// four compares.</summary>
    void Gather(InputMajorWeight w, float* x)
    {
        int inputs = w.Inputs, blocks = (inputs + 31) / 32;
        if (_values.Length < inputs)
        {
            _values = GC.AllocateArray<float>(inputs, pinned: true);
            _rows = GC.AllocateArray<nint>(inputs, pinned: true);
        }
        if (w.Type == GgmlType.Q8_0 && _xq.Length < inputs)
        {
            _xq = GC.AllocateArray<short>(inputs, pinned: true);
            _dx = GC.AllocateArray<float>(blocks, pinned: true);
        }
        if (_blocks.Length < blocks)
        {
            _blocks = GC.AllocateArray<int>(blocks, pinned: true);
            _blockStarts = GC.AllocateArray<int>(blocks + 1, pinned: true);
        }
        fixed (float* pv = _values) _valuePtr = pv;   // pinned heap: the pointers stay valid
        fixed (nint* pr = _rows) _rowPtr = (byte**)pr;
        int count = 0, blockCount = 0;
        long rowBytes = w.RowBytes;
        bool q8 = w.Type == GgmlType.Q8_0;
        for (int b = 0; b < blocks; b++)
        {
            int k0 = b * 32;
            uint mask = NonZeroMask(x + k0, Math.Min(32, inputs - k0));
            if (mask == 0) continue;
            _blocks[blockCount] = b;
            _blockStarts[blockCount++] = count;
            byte* quants = q8 ? w.Data + b * w.BlockBytes + (long)w.Outputs * sizeof(float) : null;
            do
            {
                int i = BitOperations.TrailingZeroCount(mask);
                int k = k0 + i;
                _valuePtr[count] = x[k];
                _rowPtr[count++] = q8 ? quants + i * rowBytes : w.Data + k * rowBytes;
                mask &= mask - 1;
            } while (mask != 0);
            if (q8) QuantizeBlock(blockCount - 1, count);
        }
        _blockStarts[blockCount] = count;
        _activeCount = count;
        _blockCount = blockCount;
    }

    /// <summary>
    /// Q8_0: the active inputs of active block <paramref name="bi"/> as int8 values (kept in int16 for vpmaddwd) with one
    /// scale, llama.cpp's Q8_0 rule (d = max|x|/127, q = round-half-away(x/d)) as the dense product applies to the whole
    /// row; zeros do not change the maximum, so the active values alone give it.
    /// </summary>
    void QuantizeBlock(int bi, int e)
    {
        int s = _blockStarts[bi];
        float amax = 0;
        for (int j = s; j < e; j++) amax = MathF.Max(amax, MathF.Abs(_valuePtr[j]));
        _dx[bi] = Q8Scale(amax, out float id);
        for (int j = s; j < e; j++) _xq[j] = Q8Round(_valuePtr[j], id);
    }

    static float Q8Scale(float amax, out float inverse)
    {
        float d = amax / 127f;
        inverse = d != 0 ? 1f / d : 0f;
        return d;
    }

    static short Q8Round(float x, float inverse) => (short)MathF.Round(x * inverse, MidpointRounding.AwayFromZero);

    /// <summary>Bit i set when x[i] ≠ 0, for i &lt; n ≤ 32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static uint NonZeroMask(float* x, int n)
    {
        if (n == 32 && Vector256.IsHardwareAccelerated)
        {
            uint zero = Vector256.Equals(Vector256.Load(x), Vector256<float>.Zero).ExtractMostSignificantBits()
                | Vector256.Equals(Vector256.Load(x + 8), Vector256<float>.Zero).ExtractMostSignificantBits() << 8
                | Vector256.Equals(Vector256.Load(x + 16), Vector256<float>.Zero).ExtractMostSignificantBits() << 16
                | Vector256.Equals(Vector256.Load(x + 24), Vector256<float>.Zero).ExtractMostSignificantBits() << 24;
            return ~zero;
        }
        uint mask = 0;
        for (int i = 0; i < n; i++) if (x[i] != 0) mask |= 1u << i;
        return mask;
    }

    /// <summary>Partition p covers input blocks [p·B/P, (p+1)·B/P); finds where each starts in the active-block list.</summary>
    void PreparePartitions(InputMajorWeight w)
    {
        long need = (long)Partitions * w.Outputs;
        if (_partials.Length < need)
        {
            _partials = GC.AllocateArray<float>((int)need, pinned: true);
            _accs = GC.AllocateArray<float>((int)need, pinned: true);
        }
        fixed (float* pp = _partials) _partPtr = pp;   // pinned heap: the pointers stay valid
        fixed (float* pa = _accs) _accPtr = pa;
        int blocks = w.Inputs / InputMajorWeight.QuantBlock, i = 0;
        for (int p = 0; p < Partitions; p++)
        {
            int first = PartitionFirstBlock(p, blocks);
            while (i < _blockCount && _blocks[i] < first) i++;
            _partStart[p] = i;
        }
        _partStart[Partitions] = _blockCount;
    }

    static int PartitionFirstBlock(int p, int blocks) => (int)((long)p * blocks / Partitions);

    public void Execute(int start, int end)
    {
        if (_byPartition)
        {
            for (int p = start; p < end; p++) Q8_0Partition(_w!, p);
            return;
        }
        var w = _w!;
        int c0 = start * ColumnUnit, c1 = Math.Min(w.Outputs, end * ColumnUnit);
        new Span<float>(_y + c0, c1 - c0).Clear();
        switch (w.Type)
        {
            case GgmlType.F32: F32Columns(w, c0, c1); break;
            case GgmlType.F16: F16Columns(w, c0, c1); break;
            default: throw new InvalidOperationException($"{w.Type} runs by partitions");
        }
    }

    /// <summary>y[c0..c1) += Σ x[k]·Wt[k][c0..c1) over the active k, four rows per pass over y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void F32Columns(InputMajorWeight w, int c0, int c1)
    {
        float* y = _y, values = _valuePtr;
        byte** rows = _rowPtr;
        int count = _activeCount, j = 0;
        for (; j + 4 <= count; j += 4)
        {
            float* r0 = (float*)rows[j], r1 = (float*)rows[j + 1];
            float* r2 = (float*)rows[j + 2], r3 = (float*)rows[j + 3];
            float x0 = values[j], x1 = values[j + 1], x2 = values[j + 2], x3 = values[j + 3];
            int o = c0;
            if (V512)
            {
                Vector512<float> v0 = Vector512.Create(x0), v1 = Vector512.Create(x1), v2 = Vector512.Create(x2), v3 = Vector512.Create(x3);
                for (; o + 16 <= c1; o += 16)
                {
                    var acc = Vector512.FusedMultiplyAdd(v0, Vector512.Load(r0 + o), Vector512.Load(y + o));
                    acc = Vector512.FusedMultiplyAdd(v1, Vector512.Load(r1 + o), acc);
                    acc = Vector512.FusedMultiplyAdd(v2, Vector512.Load(r2 + o), acc);
                    Vector512.FusedMultiplyAdd(v3, Vector512.Load(r3 + o), acc).Store(y + o);
                }
            }
            if (V256)
            {
                Vector256<float> v0 = Vector256.Create(x0), v1 = Vector256.Create(x1), v2 = Vector256.Create(x2), v3 = Vector256.Create(x3);
                for (; o + 8 <= c1; o += 8)
                {
                    var acc = Vector256.FusedMultiplyAdd(v0, Vector256.Load(r0 + o), Vector256.Load(y + o));
                    acc = Vector256.FusedMultiplyAdd(v1, Vector256.Load(r1 + o), acc);
                    acc = Vector256.FusedMultiplyAdd(v2, Vector256.Load(r2 + o), acc);
                    Vector256.FusedMultiplyAdd(v3, Vector256.Load(r3 + o), acc).Store(y + o);
                }
            }
            for (; o < c1; o++)
            {
                float acc = MathF.FusedMultiplyAdd(x0, r0[o], y[o]);
                acc = MathF.FusedMultiplyAdd(x1, r1[o], acc);
                acc = MathF.FusedMultiplyAdd(x2, r2[o], acc);
                y[o] = MathF.FusedMultiplyAdd(x3, r3[o], acc);
            }
        }
        for (; j < count; j++)
        {
            float* r = (float*)rows[j];
            float xk = values[j];
            int o = c0;
            if (V512)
                for (var v = Vector512.Create(xk); o + 16 <= c1; o += 16)
                    Vector512.FusedMultiplyAdd(v, Vector512.Load(r + o), Vector512.Load(y + o)).Store(y + o);
            if (V256)
                for (var v = Vector256.Create(xk); o + 8 <= c1; o += 8)
                    Vector256.FusedMultiplyAdd(v, Vector256.Load(r + o), Vector256.Load(y + o)).Store(y + o);
            for (; o < c1; o++) y[o] = MathF.FusedMultiplyAdd(xk, r[o], y[o]);
        }
    }

    /// <summary>As <see cref="F32Columns"/>, the f16 rows widened in registers (<see cref="HalfWidening"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void F16Columns(InputMajorWeight w, int c0, int c1)
    {
        float* y = _y, values = _valuePtr;
        byte** rows = _rowPtr;
        int count = _activeCount, j = 0;
        for (; j + 4 <= count; j += 4)
        {
            ushort* r0 = (ushort*)rows[j], r1 = (ushort*)rows[j + 1];
            ushort* r2 = (ushort*)rows[j + 2], r3 = (ushort*)rows[j + 3];
            float x0 = values[j], x1 = values[j + 1], x2 = values[j + 2], x3 = values[j + 3];
            int o = c0;
            if (V512)
            {
                Vector512<float> v0 = Vector512.Create(x0), v1 = Vector512.Create(x1), v2 = Vector512.Create(x2), v3 = Vector512.Create(x3);
                for (; o + 16 <= c1; o += 16)
                {
                    var acc = Vector512.FusedMultiplyAdd(v0, Wide16(r0 + o), Vector512.Load(y + o));
                    acc = Vector512.FusedMultiplyAdd(v1, Wide16(r1 + o), acc);
                    acc = Vector512.FusedMultiplyAdd(v2, Wide16(r2 + o), acc);
                    Vector512.FusedMultiplyAdd(v3, Wide16(r3 + o), acc).Store(y + o);
                }
            }
            if (V256)
            {
                Vector256<float> v0 = Vector256.Create(x0), v1 = Vector256.Create(x1), v2 = Vector256.Create(x2), v3 = Vector256.Create(x3);
                for (; o + 8 <= c1; o += 8)
                {
                    var acc = Vector256.FusedMultiplyAdd(v0, Wide8(r0 + o), Vector256.Load(y + o));
                    acc = Vector256.FusedMultiplyAdd(v1, Wide8(r1 + o), acc);
                    acc = Vector256.FusedMultiplyAdd(v2, Wide8(r2 + o), acc);
                    Vector256.FusedMultiplyAdd(v3, Wide8(r3 + o), acc).Store(y + o);
                }
            }
            for (; o < c1; o++)
            {
                float acc = MathF.FusedMultiplyAdd(x0, Fp16.ToFloat(r0[o]), y[o]);
                acc = MathF.FusedMultiplyAdd(x1, Fp16.ToFloat(r1[o]), acc);
                acc = MathF.FusedMultiplyAdd(x2, Fp16.ToFloat(r2[o]), acc);
                y[o] = MathF.FusedMultiplyAdd(x3, Fp16.ToFloat(r3[o]), acc);
            }
        }
        for (; j < count; j++)
        {
            ushort* r = (ushort*)rows[j];
            float xk = values[j];
            int o = c0;
            if (V512)
                for (var v = Vector512.Create(xk); o + 16 <= c1; o += 16)
                    Vector512.FusedMultiplyAdd(v, Wide16(r + o), Vector512.Load(y + o)).Store(y + o);
            if (V256)
                for (var v = Vector256.Create(xk); o + 8 <= c1; o += 8)
                    Vector256.FusedMultiplyAdd(v, Wide8(r + o), Vector256.Load(y + o)).Store(y + o);
            for (; o < c1; o++) y[o] = MathF.FusedMultiplyAdd(xk, Fp16.ToFloat(r[o]), y[o]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Wide8(ushort* p) => HalfWidening.Widen(Avx2.ConvertToVector256Int32(p));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Wide16(ushort* p) => HalfWidening.Widen(Avx512F.ConvertToVector512Int32(Vector256.Load(p)));

    /// <summary>
    /// Partition p's partial y. Per active block: acc[o] = Σ xq[k]·q[k][o] over its active inputs, exact in int32, then
    /// part[o] = fma(acc[o], d[o]·dx, part[o]). Two rows go through one vpmaddwd: their int8 quants widened to int16
    /// and interleaved (o's pair adjacent) against the broadcast pair (xq[k1], xq[k2]); two pairs per pass over acc.
    /// Integer products cost a quarter uop a weight where widening each int8 to a float cost three eighths plus the
    /// accumulator traffic, which kept the float version compute-bound on 2 AVX2 cores (8 GB/s against dense's 13).
    /// The interleave works within 128-bit lanes, so acc holds each 16 outputs as [0–3, 8–11 | 4–7, 12–15]; the
    /// block's end puts them back in order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Q8_0Partition(InputMajorWeight w, int p)
    {
        int n = w.Outputs;
        float* part = _partPtr + (long)p * n;
        int* acc = (int*)(_accPtr + (long)p * n);
        byte** rows = _rowPtr;
        new Span<float>(part, n).Clear();
        int n16 = V256 ? n / 16 * 16 : 0;
        int last = _blockStarts[_partStart[p + 1]];   // the partition's active rows end here
        fixed (short* xq = _xq)
        for (int bi = _partStart[p]; bi < _partStart[p + 1]; bi++)
        {
            int s = _blockStarts[bi], e = _blockStarts[bi + 1];
            new Span<int>(acc, n).Clear();
            for (int j = s; j < e; j += 4)
            {
                // rows j..j+3; a missing row repeats row j with a zero multiplier
                int c = Math.Min(4, e - j);
                sbyte* r0 = (sbyte*)rows[j];
                sbyte* r1 = c > 1 ? (sbyte*)rows[j + 1] : r0;
                sbyte* r2 = c > 2 ? (sbyte*)rows[j + 2] : r0;
                sbyte* r3 = c > 3 ? (sbyte*)rows[j + 3] : r0;
                short x0 = xq[j], x1 = c > 1 ? xq[j + 1] : (short)0, x2 = c > 2 ? xq[j + 2] : (short)0, x3 = c > 3 ? xq[j + 3] : (short)0;
                int o = 0;
                if (V256)
                {
                    var m01 = Vector256.Create((int)((ushort)x0 | (uint)(ushort)x1 << 16)).AsInt16();
                    var m23 = Vector256.Create((int)((ushort)x2 | (uint)(ushort)x3 << 16)).AsInt16();
                    bool two = c > 2;
                    // Four rows PrefetchRows ahead, fetched a line each per 64 outputs while these stream: the active rows of a
                    // block leave holes the hardware prefetchers do not bridge (8 GB/s from DRAM without this).
                    sbyte* p0 = j + PrefetchRows < last ? (sbyte*)rows[j + PrefetchRows] : r0, p1 = j + PrefetchRows + 1 < last ? (sbyte*)rows[j + PrefetchRows + 1] : r0;
                    sbyte* p2 = j + PrefetchRows + 2 < last ? (sbyte*)rows[j + PrefetchRows + 2] : r0, p3 = j + PrefetchRows + 3 < last ? (sbyte*)rows[j + PrefetchRows + 3] : r0;
                    for (; o < n16; o += 16)
                    {
                        if ((o & 63) == 0)
                        {
                            Sse.Prefetch0(p0 + o);
                            Sse.Prefetch0(p1 + o);
                            Sse.Prefetch0(p2 + o);
                            Sse.Prefetch0(p3 + o);
                        }
                        var a0 = Avx2.ConvertToVector256Int16(r0 + o);
                        var a1 = Avx2.ConvertToVector256Int16(r1 + o);
                        var lo = Avx2.MultiplyAddAdjacent(Avx2.UnpackLow(a0, a1), m01);
                        var hi = Avx2.MultiplyAddAdjacent(Avx2.UnpackHigh(a0, a1), m01);
                        if (two)
                        {
                            var a2 = Avx2.ConvertToVector256Int16(r2 + o);
                            var a3 = Avx2.ConvertToVector256Int16(r3 + o);
                            lo += Avx2.MultiplyAddAdjacent(Avx2.UnpackLow(a2, a3), m23);
                            hi += Avx2.MultiplyAddAdjacent(Avx2.UnpackHigh(a2, a3), m23);
                        }
                        (Vector256.Load(acc + o) + lo).Store(acc + o);
                        (Vector256.Load(acc + o + 8) + hi).Store(acc + o + 8);
                    }
                }
                for (; o < n; o++) acc[o] += x0 * r0[o] + x1 * r1[o] + x2 * r2[o] + x3 * r3[o];
            }
            float* d = w.Scales(_blocks[bi]);
            float dx = _dx[bi];
            int k = 0;
            if (V256)
            {
                var vdx = Vector256.Create(dx);
                for (; k < n16; k += 16)
                {
                    var lo = Vector256.Load(acc + k);
                    var hi = Vector256.Load(acc + k + 8);
                    var first = Vector256.ConvertToSingle(Avx2.Permute2x128(lo, hi, 0x20));    // outputs k..k+7
                    var second = Vector256.ConvertToSingle(Avx2.Permute2x128(lo, hi, 0x31));   // outputs k+8..k+15
                    Vector256.FusedMultiplyAdd(first, Vector256.Load(d + k) * vdx, Vector256.Load(part + k)).Store(part + k);
                    Vector256.FusedMultiplyAdd(second, Vector256.Load(d + k + 8) * vdx, Vector256.Load(part + k + 8)).Store(part + k + 8);
                }
            }
            for (; k < n; k++) part[k] = MathF.FusedMultiplyAdd(acc[k], d[k] * dx, part[k]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Wide8(sbyte* p) => Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(p));

    /// <summary>The scalar twin: inputs in order, each one's row added to y, with the same fused multiply-adds (and,
    /// for Q8_0, the same per-block accumulation and partitions) as the SIMD kernels.</summary>
    public static void Scalar(InputMajorWeight w, ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.Length < w.Inputs || y.Length < w.Outputs) throw new ArgumentException($"{w.Name}: sparse product buffers too small");
        int n = w.Outputs;
        y[..n].Clear();
        switch (w.Type)
        {
            case GgmlType.F32:
                for (int k = 0; k < w.Inputs; k++)
                {
                    float xk = x[k];
                    if (xk == 0) continue;
                    float* row = w.F32Row(k);
                    for (int o = 0; o < n; o++) y[o] = MathF.FusedMultiplyAdd(xk, row[o], y[o]);
                }
                break;
            case GgmlType.F16:
                for (int k = 0; k < w.Inputs; k++)
                {
                    float xk = x[k];
                    if (xk == 0) continue;
                    ushort* row = w.F16Row(k);
                    for (int o = 0; o < n; o++) y[o] = MathF.FusedMultiplyAdd(xk, Fp16.ToFloat(row[o]), y[o]);
                }
                break;
            default:
            {
                // Partition by partition (see remarks), each into its own partial, added in order; per block the
                // active inputs quantized to int8 and summed exactly, then scaled once.
                var acc = new int[n];
                var part = new float[n];
                int blocks = w.Inputs / InputMajorWeight.QuantBlock;
                for (int p = 0; p < Partitions; p++)
                {
                    Array.Clear(part);
                    for (int b = PartitionFirstBlock(p, blocks); b < PartitionFirstBlock(p + 1, blocks); b++)
                    {
                        int k0 = b * InputMajorWeight.QuantBlock;
                        float amax = 0;
                        for (int k = k0; k < k0 + InputMajorWeight.QuantBlock; k++) amax = MathF.Max(amax, MathF.Abs(x[k]));
                        if (amax == 0) continue;
                        float dx = Q8Scale(amax, out float id);
                        Array.Clear(acc);
                        for (int k = k0; k < k0 + InputMajorWeight.QuantBlock; k++)
                        {
                            if (x[k] == 0) continue;
                            int xq = Q8Round(x[k], id);
                            sbyte* row = w.Quants(k);
                            for (int o = 0; o < n; o++) acc[o] += xq * row[o];
                        }
                        float* d = w.Scales(b);
                        for (int o = 0; o < n; o++) part[o] = MathF.FusedMultiplyAdd(acc[o], d[o] * dx, part[o]);
                    }
                    for (int o = 0; o < n; o++) y[o] = p == 0 ? part[o] : y[o] + part[o];
                }
                break;
            }
        }
    }

    /// <summary>Weight bytes a product over <paramref name="x"/> reads: the rows of its non-zero inputs (and, for
    /// Q8_0, the row of scales of each block that has one) — what <see cref="LastBytesRead"/> reports.</summary>
    public static long BytesRead(InputMajorWeight w, ReadOnlySpan<float> x)
    {
        long active = 0, blocks = 0;
        for (int k0 = 0; k0 < w.Inputs; k0 += 32)
        {
            int before = (int)active;
            for (int k = k0; k < Math.Min(w.Inputs, k0 + 32); k++) if (x[k] != 0) active++;
            if (active > before) blocks++;
        }
        return Bytes(w, active, blocks);
    }

    static long Bytes(InputMajorWeight w, long active, long blocks) => w.Type switch
    {
        GgmlType.F32 or GgmlType.F16 => active * w.RowBytes,
        _ => active * w.RowBytes + blocks * w.Outputs * (long)sizeof(float),
    };
}
