using Sieve.Tensors;
using Sieve.Threading;

namespace Sieve.Kernels.Sparse;

/// <summary>
/// y[i] = gate[i]·dot(W[i], x) for the rows whose gate is non-zero, 0 elsewhere (CHESS's vmmsp): up_proj computed
/// only for the FFN channels the gate threshold kept, fused with the gate product, so the result is act ⊙ up.
/// W stays row-major; x is converted to the weight's dot-product format once, as <see cref="MatMul"/> does, so
/// each kept row equals the dense product's row exactly. One instance per runner (it holds the converted x).
/// </summary>
public sealed unsafe class MaskedOutputMatVec(WorkerPool pool)
{
    readonly WorkerPool _pool = pool;
    byte[] _xq = GC.AllocateArray<byte>(0, pinned: true);

    public long LastBytesRead { get; private set; }

    public void Apply(WeightTensor w, ReadOnlySpan<float> x, ReadOnlySpan<float> gate, Span<float> y) => Scalar(w, x, gate, y);

    public void Scalar(WeightTensor w, ReadOnlySpan<float> x, ReadOnlySpan<float> gate, Span<float> y)
    {
        if (x.Length < w.Cols || gate.Length < w.Rows || y.Length < w.Rows) throw new ArgumentException($"{w.Name}: masked product buffers too small");
        var dotType = TypeTraits.Of(w.Type).VecDotType;
        long read = 0;
        fixed (float* px = x)
        {
            byte* xp = (byte*)px;
            if (dotType != GgmlType.F32)
            {
                long rowBytes = TypeTraits.Of(dotType).RowBytes(w.Cols);
                if (_xq.Length < rowBytes) _xq = GC.AllocateArray<byte>((int)rowBytes, pinned: true);
                Quantize.Row(dotType, x[..w.Cols], _xq.AsSpan(0, (int)rowBytes));
                fixed (byte* pq = _xq) xp = pq;
            }
            for (int i = 0; i < w.Rows; i++)
            {
                float g = gate[i];
                if (g == 0) { y[i] = 0; continue; }
                y[i] = g * VecDot.Dot(w.Type, w.RowPointer(i), xp, w.Cols);
                read += w.RowBytes;
            }
        }
        LastBytesRead = read;
    }
}
