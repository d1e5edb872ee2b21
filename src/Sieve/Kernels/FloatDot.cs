using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sieve.Kernels;

/// <summary>Half-precision weight rows times F32 activations, widening in registers (no row copy).</summary>
public static unsafe class FloatDot
{
    /// <remarks>
    /// .NET exposes no vcvtph2ps intrinsic, so rows widen through TensorPrimitives (vectorised bit manipulation)
    /// in chunks small enough to stay in L1 between conversion and dot product.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float F16(byte* w, float* x, int n)
    {
        const int Chunk = 512;
        float* buffer = stackalloc float[Chunk];
        float sum = 0;
        for (int i = 0; i < n; i += Chunk)
        {
            int m = Math.Min(Chunk, n - i);
            var wide = new Span<float>(buffer, m);
            System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>((Half*)w + i, m), wide);
            sum += System.Numerics.Tensors.TensorPrimitives.Dot(wide, new ReadOnlySpan<float>(x + i, m));
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Bf16(byte* w, float* x, int n)
    {
        ushort* b = (ushort*)w;
        int i = 0;
        float sum = 0;
        if (Avx512F.IsSupported)
        {
            var acc = Vector512<float>.Zero;
            for (; i + 16 <= n; i += 16)
            {
                var wide = Avx512F.ConvertToVector512Int32(Vector256.Load(b + i));
                acc = Avx512F.FusedMultiplyAdd(Avx512F.ShiftLeftLogical(wide, 16).AsSingle(), Vector512.Load(x + i), acc);
            }
            sum = Vector512.Sum(acc);
        }
        for (; i < n; i++) sum += BitConverter.Int32BitsToSingle(b[i] << 16) * x[i];
        return sum;
    }
}
