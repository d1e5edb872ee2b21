using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using Sieve.Tensors;
using Sieve.Threading;

namespace Sieve.Kernels.Sparse;

/// <summary>
/// y[i] = gate[i]·dot(W[i], x) for the rows whose gate is non-zero, 0 elsewhere (CHESS's vmmsp): up_proj computed
/// only for the FFN channels the gate threshold kept, fused with the gate product, so the result is act ⊙ up.
/// W stays row-major; x is converted to the weight's dot-product format once, as <see cref="MatMul"/> does, and each
/// kept row goes through the same <see cref="VecDot.Dot"/>, so dot(W[i], x) equals the dense product's y[i] bit for
/// bit. One instance per runner (it holds the converted x and the list of kept rows).
/// </summary>
/// <remarks>
/// Threads: the kept rows are listed first, then the list is split evenly, one contiguous run of it per thread (rows
/// cost the same, so an even split balances; the dense product splits all rows the same way). gate and y may be the
/// same span (each kept row reads its gate before writing its output); x must not overlap y.
/// </remarks>
public sealed unsafe class MaskedOutputMatVec(WorkerPool pool) : IRangeWork
{
    readonly WorkerPool _pool = pool;
    byte[] _xq = GC.AllocateArray<byte>(0, pinned: true);
    int[] _kept = GC.AllocateArray<int>(0, pinned: true);

    // The product in flight (set by Apply for Execute).
    WeightTensor? _w;
    byte* _x;
    float* _gate, _y;

    /// <summary>Weight bytes the last <see cref="Apply"/> read: kept rows × row bytes.</summary>
    public long LastBytesRead { get; private set; }

    /// <summary>Rows the last <see cref="Apply"/> computed.</summary>
    public int LastKeptRows { get; private set; }

    /// <summary>As <see cref="SparseInputMatVec.ParallelMinBytes"/>: smaller products stay on the calling thread.</summary>
    public const long ParallelMinBytes = SparseInputMatVec.ParallelMinBytes;

    /// <summary>Kept rows ahead whose lines are prefetched.</summary>
    const int PrefetchAhead = 2;

    public void Apply(WeightTensor w, ReadOnlySpan<float> x, ReadOnlySpan<float> gate, Span<float> y)
    {
        if (x.Length < w.Cols || gate.Length < w.Rows || y.Length < w.Rows) throw new ArgumentException($"{w.Name}: masked product buffers too small");
        if (_kept.Length < w.Rows) _kept = GC.AllocateArray<int>(w.Rows, pinned: true);
        fixed (float* px = x, pg = gate, py = y)
        {
            _x = Prepare(w, x, px);
            int kept = 0;
            for (int i = 0; i < w.Rows; i++)
            {
                if (pg[i] != 0) _kept[kept++] = i;
                else py[i] = 0;
            }
            LastKeptRows = kept;
            LastBytesRead = kept * w.RowBytes;
            _w = w; _gate = pg; _y = py;
            int grain = LastBytesRead < ParallelMinBytes ? Math.Max(1, kept) : (kept + _pool.ThreadCount - 1) / _pool.ThreadCount;
            try { _pool.Run(this, kept, grain); }
            finally { _w = null; _x = null; _gate = _y = null; }
        }
    }

    /// <summary>x in the weight's dot-product format: the floats themselves for F32/F16/BF16, else quantized once.</summary>
    byte* Prepare(WeightTensor w, ReadOnlySpan<float> x, float* px)
    {
        var dotType = TypeTraits.Of(w.Type).VecDotType;
        if (dotType == GgmlType.F32) return (byte*)px;
        long rowBytes = TypeTraits.Of(dotType).RowBytes(w.Cols);
        if (_xq.Length < rowBytes) _xq = GC.AllocateArray<byte>((int)rowBytes, pinned: true);
        Quantize.Row(dotType, x[..w.Cols], _xq.AsSpan(0, (int)rowBytes));
        fixed (byte* pq = _xq) return pq;   // pinned heap: the pointer stays valid
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute(int start, int end)
    {
        var w = _w!;
        long rowBytes = w.RowBytes;
        for (int j = start; j < end; j++)
        {
            // The kept rows leave holes the hardware prefetchers do not bridge: fetch the row two ahead while this one
            // is dotted (the same trick as the sparse-input kernel's).
            if (j + PrefetchAhead < end && Sse.IsSupported)
            {
                byte* next = w.RowPointer(_kept[j + PrefetchAhead]);
                for (long b = 0; b < rowBytes; b += 64) Sse.Prefetch0(next + b);
            }
            int i = _kept[j];
            _y[i] = _gate[i] * VecDot.Dot(w.Type, w.RowPointer(i), _x, w.Cols);
        }
    }

    /// <summary>The scalar twin: every row in order, through <see cref="VecDot.DotScalar"/>.</summary>
    public void Scalar(WeightTensor w, ReadOnlySpan<float> x, ReadOnlySpan<float> gate, Span<float> y)
    {
        if (x.Length < w.Cols || gate.Length < w.Rows || y.Length < w.Rows) throw new ArgumentException($"{w.Name}: masked product buffers too small");
        int kept = 0;
        fixed (float* px = x)
        {
            byte* xp = Prepare(w, x, px);
            for (int i = 0; i < w.Rows; i++)
            {
                float g = gate[i];
                if (g == 0) { y[i] = 0; continue; }
                y[i] = g * VecDot.DotScalar(w.Type, w.RowPointer(i), xp, w.Cols);
                kept++;
            }
        }
        LastKeptRows = kept;
        LastBytesRead = kept * w.RowBytes;
    }
}
