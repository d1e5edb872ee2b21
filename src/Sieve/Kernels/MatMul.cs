using Sieve.Tensors;
using Sieve.Threading;

namespace Sieve.Kernels;

/// <summary>
/// y = x·Wᵀ for a weight matrix in any stored type: one code path for decode (n = 1, matrix-vector) and prefill
/// (n &gt; 1, matrix-matrix). Activations are converted once to the weight type's dot-product format (Q8_0 for
/// Q8_0/Q4_0, Q8_K for K-quants, F32 otherwise), then weight rows are split across threads.
/// </summary>
public sealed unsafe class MatMul : IRangeWork
{
    readonly WorkerPool _pool;
    byte[] _xq = GC.AllocateArray<byte>(0, pinned: true);

    WeightTensor? _w;
    byte* _x;
    long _xRowBytes;
    int _n;
    float* _y;

    public MatMul(WorkerPool pool) => _pool = pool;

    /// <param name="x">n × w.Cols activations</param>
    /// <param name="y">n × w.Rows outputs</param>
    public void Apply(WeightTensor w, ReadOnlySpan<float> x, int n, Span<float> y)
    {
        if (x.Length < (long)n * w.Cols || y.Length < (long)n * w.Rows)
            throw new ArgumentException($"matmul {w.Name}: buffers too small for {n} rows");
        var dotType = TypeTraits.Of(w.Type).VecDotType;
        fixed (float* px = x, py = y)
        {
            if (dotType == GgmlType.F32)
            {
                _x = (byte*)px;
                _xRowBytes = (long)w.Cols * sizeof(float);
            }
            else
            {
                long rowBytes = TypeTraits.Of(dotType).RowBytes(w.Cols);
                long need = rowBytes * n;
                if (_xq.Length < need) _xq = GC.AllocateArray<byte>((int)need, pinned: true);
                for (int j = 0; j < n; j++)
                    Quantize.Row(dotType, x.Slice(j * w.Cols, w.Cols), _xq.AsSpan((int)(j * rowBytes), (int)rowBytes));
                fixed (byte* pq = _xq) _x = pq;   // _xq lives on the pinned heap, so the pointer stays valid
                _xRowBytes = rowBytes;
            }
            _w = w; _n = n; _y = py;
            // Rows per chunk: enough that a chunk's weights (~16–64 KB) amortise the hand-off, few enough to balance.
            int grain = Math.Clamp((int)(32768 / Math.Max(1, w.RowBytes)), 4, 256);
            grain = Math.Min(grain, Math.Max(1, w.Rows / (_pool.ThreadCount * 2)));
            _pool.Run(this, w.Rows, grain);
            _w = null;
        }
    }

    public void Execute(int start, int end)
    {
        var w = _w!;
        int rows = w.Rows, cols = w.Cols;
        for (int r = start; r < end; r++)
        {
            byte* wr = w.RowPointer(r);
            for (int j = 0; j < _n; j++)
                _y[(long)j * rows + r] = VecDot.Dot(w.Type, wr, _x + j * _xRowBytes, cols);
        }
    }
}
