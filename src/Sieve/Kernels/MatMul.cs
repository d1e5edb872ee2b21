using System.Runtime.CompilerServices;
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
    byte[] _xp = GC.AllocateArray<byte>(0, pinned: true);   // activations prepared for the 4×4 tile
    byte* _xpPtr;
    long _xpRowBytes;
    bool _tiled, _rowGroups;
    float[] _xScales = GC.AllocateArray<float>(0, pinned: true);
    float* _xScalePtr;

    /// <summary>Activation rows per pass over a chunk of weight rows: 64 prepared rows of 2048 (~140 KB) stay in L2.</summary>
    const int ActivationBlock = 64;

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
            _tiled = n >= 4 && w.Type is GgmlType.Q8_0 or GgmlType.Q4_0 && Quant.Q8_0Tile.IsSupported;
            _rowGroups = !_tiled && n >= 2 && w.Type == GgmlType.Q8_0 && Quant.Q8_0Rows.IsSupported;
            if (_rowGroups)
            {
                int blocks = w.Cols / 32;
                if (_xScales.Length < n * blocks) _xScales = GC.AllocateArray<float>(n * blocks, pinned: true);
                fixed (float* ps = _xScales) _xScalePtr = ps;   // pinned heap: the pointer stays valid
                Quant.Q8_0Rows.ScalePanels(_x, _xRowBytes, n, blocks, ActivationBlock, _xScalePtr);
            }
            if (_tiled)
            {
                _xpRowBytes = Quant.Q8_0Tile.PreparedBytes(w.Cols);
                long need = _xpRowBytes * n;
                if (_xp.Length < need) _xp = GC.AllocateArray<byte>((int)need, pinned: true);
                fixed (byte* pp = _xp) _xpPtr = pp;
                for (int j = 0; j < n; j++) Quant.Q8_0Tile.Prepare(_x + j * _xRowBytes, _xpPtr + j * _xpRowBytes, w.Cols);
            }
            // Rows per chunk: enough that a chunk's weights (~16–64 KB) amortise the hand-off, few enough to balance.
            int grain = n == 1
                // Decode streams the matrix once: a few long contiguous ranges per thread keep the hardware
                // prefetchers on one stream each and spend no cross-core atomics per 15 rows (1 thread was
                // beating 2 on llama-1b with fine chunks).
                ? Math.Max(1, (w.Rows + 2 * _pool.ThreadCount - 1) / (2 * _pool.ThreadCount))
                : Math.Min(Math.Clamp((int)(32768 / Math.Max(1, w.RowBytes)), 4, 256), Math.Max(1, w.Rows / (_pool.ThreadCount * 2)));
            if (_tiled) grain = Math.Max(4, grain / 4 * 4);   // chunks start on a 4-row tile boundary
            _pool.Run(this, w.Rows, grain);
            _w = null;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute(int start, int end)
    {
        if (_tiled) { ExecuteTiled(start, end); return; }
        if (_rowGroups) { ExecuteRows(start, end); return; }
        var w = _w!;
        int rows = w.Rows, cols = w.Cols;
        for (int r = start; r < end; r++)
        {
            byte* wr = w.RowPointer(r);
            for (int j = 0; j < _n; j++)
                _y[(long)j * rows + r] = VecDot.Dot(w.Type, wr, _x + j * _xRowBytes, cols);
        }
    }

    /// <summary>
    /// Q8_0 weights on AVX2 without the VNNI tile: each weight row meets eight (or four, or two) activation rows per
    /// pass, so its blocks are loaded once for several products (a batched decode step: a row per sequence).
    /// Activations go in blocks of 64 rows so that, in a long prefill, the rows a weight chunk meets stay in L2.
    /// </summary>
    void ExecuteRows(int start, int end)
    {
        var w = _w!;
        int rows = w.Rows, cols = w.Cols, blocks = cols / 32;
        for (int xb = 0; xb < _n; xb += ActivationBlock)
        {
            int xe = Math.Min(_n, xb + ActivationBlock);
            for (int r = start; r < end; r++)
            {
                byte* wr = w.RowPointer(r);
                for (int j = xb, g; j < xe; j += g)
                {
                    g = Quant.Q8_0Rows.GroupSize(j, xe);
                    byte* xj = _x + j * _xRowBytes;
                    float* panel = _xScalePtr + (long)j * blocks;
                    float* yj = _y + (long)j * rows + r;
                    switch (g)
                    {
                        case 8: Quant.Q8_0Rows.Dot1x8(wr, xj, _xRowBytes, panel, cols, yj, rows); break;
                        case 4: Quant.Q8_0Rows.Dot1x4(wr, xj, _xRowBytes, panel, cols, yj, rows); break;
                        case 2: Quant.Q8_0Rows.Dot1x2(wr, xj, _xRowBytes, panel, cols, yj, rows); break;
                        default: *yj = VecDot.Dot(w.Type, wr, xj, cols); break;
                    }
                }
            }
        }
    }

    [ThreadStatic] static byte[]? t_repacked;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void ExecuteTiled(int start, int end)
    {
        var w = _w!;
        int rows = w.Rows, cols = w.Cols;
        long wRowBytes = w.RowBytes;
        bool repack = w.Type == GgmlType.Q4_0;
        long q8RowBytes = TypeTraits.Of(GgmlType.Q8_0).RowBytes(cols);
        if (repack && (t_repacked == null || t_repacked.Length < 4 * q8RowBytes))
            t_repacked = GC.AllocateArray<byte>((int)(4 * q8RowBytes), pinned: true);
        fixed (byte* repacked = t_repacked)
        for (int xb = 0; xb < _n; xb += ActivationBlock)
        {
            int xe = Math.Min(_n, xb + ActivationBlock);
            int r = start;
            for (; r + 4 <= end; r += 4)
            {
                byte* wr = w.RowPointer(r);
                byte* tile = wr;
                long tileRowBytes = wRowBytes;
                if (repack)
                {
                    for (int i = 0; i < 4; i++) Quant.BlockQ4_0.RepackAsQ8_0(wr + i * wRowBytes, repacked + i * q8RowBytes, cols);
                    tile = repacked;
                    tileRowBytes = q8RowBytes;
                }
                int j = xb;
                for (; j + 4 <= xe; j += 4)
                    Quant.Q8_0Tile.Dot4x4(tile, tileRowBytes, _xpPtr + j * _xpRowBytes, _xpRowBytes, cols, _y + (long)j * rows + r, rows);
                for (; j < xe; j++)
                    for (int i = 0; i < 4; i++)
                        _y[(long)j * rows + r + i] = VecDot.Dot(w.Type, wr + i * wRowBytes, _x + j * _xRowBytes, cols);
            }
            for (; r < end; r++)
                for (int j = xb; j < xe; j++)
                    _y[(long)j * rows + r] = VecDot.Dot(w.Type, w.RowPointer(r), _x + j * _xRowBytes, cols);
        }
    }
}
