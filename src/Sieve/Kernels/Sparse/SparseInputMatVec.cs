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
            int units = (w.Outputs + ColumnUnit - 1) / ColumnUnit;
            int grain = LastBytesRead < ParallelMinBytes ? units : (units + _pool.ThreadCount - 1) / _pool.ThreadCount;
            try { _pool.Run(this, units, grain); }
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
        }
        _blockStarts[blockCount] = count;
        _activeCount = count;
        _blockCount = blockCount;
    }

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

    public void Execute(int start, int end)
    {
        var w = _w!;
        int c0 = start * ColumnUnit, c1 = Math.Min(w.Outputs, end * ColumnUnit);
        new Span<float>(_y + c0, c1 - c0).Clear();
        switch (w.Type)
        {
            case GgmlType.F32: F32Columns(w, c0, c1); break;
            case GgmlType.F16: F16Columns(w, c0, c1); break;
            default: Q8_0Columns(w, c0, c1); break;
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
    /// Per active block: acc[o] = Σ x[k]·q[k][o] over its active inputs, then y[o] = fma(d[o], acc[o], y[o]). The
    /// accumulators for 32 outputs (64 with AVX-512) stay in registers across the block's inputs, so y and the
    /// scales are touched once per block; the int8 quants widen to int32 on load (vpmovsxbd) and convert to f32.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Q8_0Columns(InputMajorWeight w, int c0, int c1)
    {
        float* y = _y, values = _valuePtr;
        byte** rows = _rowPtr;
        for (int bi = 0; bi < _blockCount; bi++)
        {
            int s = _blockStarts[bi], e = _blockStarts[bi + 1];
            float* d = w.Scales(_blocks[bi]);
            int o = c0;
            if (V512)
                for (; o + 64 <= c1; o += 64)
                {
                    Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                    for (int j = s; j < e; j++)
                    {
                        sbyte* q = (sbyte*)rows[j] + o;
                        var v = Vector512.Create(values[j]);
                        a0 = Vector512.FusedMultiplyAdd(v, Wide16(q), a0);
                        a1 = Vector512.FusedMultiplyAdd(v, Wide16(q + 16), a1);
                        a2 = Vector512.FusedMultiplyAdd(v, Wide16(q + 32), a2);
                        a3 = Vector512.FusedMultiplyAdd(v, Wide16(q + 48), a3);
                    }
                    Vector512.FusedMultiplyAdd(Vector512.Load(d + o), a0, Vector512.Load(y + o)).Store(y + o);
                    Vector512.FusedMultiplyAdd(Vector512.Load(d + o + 16), a1, Vector512.Load(y + o + 16)).Store(y + o + 16);
                    Vector512.FusedMultiplyAdd(Vector512.Load(d + o + 32), a2, Vector512.Load(y + o + 32)).Store(y + o + 32);
                    Vector512.FusedMultiplyAdd(Vector512.Load(d + o + 48), a3, Vector512.Load(y + o + 48)).Store(y + o + 48);
                }
            if (V256)
            {
                for (; o + 32 <= c1; o += 32)
                {
                    Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                    for (int j = s; j < e; j++)
                    {
                        sbyte* q = (sbyte*)rows[j] + o;
                        var v = Vector256.Create(values[j]);
                        a0 = Vector256.FusedMultiplyAdd(v, Wide8(q), a0);
                        a1 = Vector256.FusedMultiplyAdd(v, Wide8(q + 8), a1);
                        a2 = Vector256.FusedMultiplyAdd(v, Wide8(q + 16), a2);
                        a3 = Vector256.FusedMultiplyAdd(v, Wide8(q + 24), a3);
                    }
                    Vector256.FusedMultiplyAdd(Vector256.Load(d + o), a0, Vector256.Load(y + o)).Store(y + o);
                    Vector256.FusedMultiplyAdd(Vector256.Load(d + o + 8), a1, Vector256.Load(y + o + 8)).Store(y + o + 8);
                    Vector256.FusedMultiplyAdd(Vector256.Load(d + o + 16), a2, Vector256.Load(y + o + 16)).Store(y + o + 16);
                    Vector256.FusedMultiplyAdd(Vector256.Load(d + o + 24), a3, Vector256.Load(y + o + 24)).Store(y + o + 24);
                }
                for (; o + 8 <= c1; o += 8)
                {
                    var a = Vector256<float>.Zero;
                    for (int j = s; j < e; j++)
                        a = Vector256.FusedMultiplyAdd(Vector256.Create(values[j]), Wide8((sbyte*)rows[j] + o), a);
                    Vector256.FusedMultiplyAdd(Vector256.Load(d + o), a, Vector256.Load(y + o)).Store(y + o);
                }
            }
            for (; o < c1; o++)
            {
                float a = 0;
                for (int j = s; j < e; j++) a = MathF.FusedMultiplyAdd(values[j], ((sbyte*)rows[j])[o], a);
                y[o] = MathF.FusedMultiplyAdd(d[o], a, y[o]);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Wide8(sbyte* p) => Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(p));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Wide16(sbyte* p) => Vector512.ConvertToSingle(Avx512F.ConvertToVector512Int32(Vector128.Load(p)));

    /// <summary>The scalar twin: inputs in order, each one's row added to y, with the same fused multiply-adds (and,
    /// for Q8_0, the same per-block accumulation) as the SIMD kernels.</summary>
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
                var acc = new float[n];
                for (int b = 0; b < w.Inputs / InputMajorWeight.QuantBlock; b++)
                {
                    float* d = w.Scales(b);
                    bool any = false;
                    Array.Clear(acc);
                    for (int i = 0; i < InputMajorWeight.QuantBlock; i++)
                    {
                        int k = b * InputMajorWeight.QuantBlock + i;
                        float xk = x[k];
                        if (xk == 0) continue;
                        any = true;
                        sbyte* row = w.Quants(k);
                        for (int o = 0; o < n; o++) acc[o] = MathF.FusedMultiplyAdd(xk, row[o], acc[o]);
                    }
                    if (any) for (int o = 0; o < n; o++) y[o] = MathF.FusedMultiplyAdd(d[o], acc[o], y[o]);
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
