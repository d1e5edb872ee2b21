using BenchmarkDotNet.Attributes;
using Sieve.Kernels;
using Sieve.Kernels.Sparse;
using Sieve.Tensors;
using Sieve.Threading;

namespace Sieve.Bench;

/// <summary>
/// One decode step's down_proj of a llama-1b shape (2048 outputs × 5632 inputs): the dense matrix-vector product
/// against the sparse-input kernel (spvmm) reading only the input-major rows of the non-zero half of x, and the
/// up_proj shape (5632 × 2048) dense against the masked-output kernel (vmmsp) with half the gates zero. Random
/// weights; the zeros of x and of the gate at random places. Run with
/// <c>dotnet run -c Release --project bench/Sieve.Bench -- --filter *SparseKernel*</c>.
/// </summary>
[MemoryDiagnoser]
public class SparseKernelBenchmarks
{
    [Params(GgmlType.Q8_0, GgmlType.F16)] public GgmlType Type;
    [Params(2)] public int Threads;
    [Params(0.5)] public double Density;

    const int Dim = 2048, Ffn = 5632;

    WorkerPool? _pool;
    MatMul? _matmul;
    SparseInputMatVec? _sparse;
    MaskedOutputMatVec? _masked;
    WeightTensor? _down, _up;
    InputMajorWeight? _downT;
    float[] _h = [], _hDense = [], _x = [], _gate = [], _yDim = [], _yFfn = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _pool = new WorkerPool(Threads);
        _matmul = new MatMul(_pool);
        _sparse = new SparseInputMatVec(_pool);
        _masked = new MaskedOutputMatVec(_pool);
        _down = Matrix(Type, Dim, Ffn, rng);
        _up = Matrix(Type, Ffn, Dim, rng);
        _downT = InputMajorWeight.From(_down);
        _hDense = Values(Ffn, rng);
        _h = _hDense.Select(v => rng.NextDouble() < Density ? v : 0f).ToArray();
        _x = Values(Dim, rng);
        _gate = Values(Ffn, rng).Select(v => rng.NextDouble() < Density ? v : 0f).ToArray();
        _yDim = new float[Dim];
        _yFfn = new float[Ffn];
    }

    [GlobalCleanup]
    public void Cleanup() => _pool?.Dispose();

    [Benchmark(Baseline = true)]
    public void DownDense() => _matmul!.Apply(_down!, _hDense, 1, _yDim);

    [Benchmark]
    public void DownSparseInput() => _sparse!.Apply(_downT!, _h, _yDim);

    [Benchmark]
    public void UpDense() => _matmul!.Apply(_up!, _x, 1, _yFfn);

    [Benchmark]
    public void UpMaskedOutput() => _masked!.Apply(_up!, _x, _gate, _yFfn);

    static float[] Values(int n, Random rng) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();

    static WeightTensor Matrix(GgmlType type, int rows, int cols, Random rng)
    {
        long rowBytes = TypeTraits.Of(type).RowBytes(cols);
        var bytes = new byte[rowBytes * rows];
        var row = new float[cols];
        for (int r = 0; r < rows; r++)
        {
            for (int i = 0; i < cols; i++) row[i] = (float)(rng.NextDouble() * 0.2 - 0.1);
            Quantize.Row(type, row, bytes.AsSpan((int)(r * rowBytes), (int)rowBytes));
        }
        return WeightTensor.FromBytes("w", type, bytes, rows, cols);
    }
}
