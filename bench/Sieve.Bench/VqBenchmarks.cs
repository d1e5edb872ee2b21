using BenchmarkDotNet.Attributes;
using Sieve.Cache.A2ats;
using Sieve.Kernels;

namespace Sieve.Bench;

/// <summary>
/// A²ATS's per-head work at K = 4096: encoding prompt keys (blocked argmin), building a query group's lookup tables
/// (one pass over C for four query heads) and scoring 32K tokens by table lookup (vpgatherdd against the unrolled
/// scalar loop). Run with <c>dotnet run -c Release --project bench/Sieve.Bench -- --filter *VqBenchmarks*</c>.
/// </summary>
public unsafe class VqBenchmarks
{
    [Params(64, 128)] public int HeadDim;
    const int K = 4096, Keys = 1024, Tokens = 32768;

    VqCodebook _codebook = null!;
    float[] _keys = [], _queries = [], _luts = [], _scores = [];
    ushort[] _codes = [], _tokens = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var l = new float[HeadDim * HeadDim];
        for (int i = 0; i < HeadDim; i++) l[i * HeadDim + i] = 1;
        _codebook = VqCodebook.Create(l, HeadDim, Values(K * HeadDim));
        _keys = Values(Keys * HeadDim);
        _queries = Values(4 * HeadDim);
        _luts = new float[4 * _codebook.LutLength];
        _codes = new ushort[Keys];
        _tokens = Enumerable.Range(0, Tokens).Select(_ => (ushort)rng.Next(K)).ToArray();
        _scores = new float[Tokens];
    }

    [Benchmark] public void Encode1024Keys() => _codebook.Encode(_keys, Keys, HeadDim, _codes);
    [Benchmark] public void LutOneQuery() => _codebook.BuildLut(_queries.AsSpan(0, HeadDim), _luts);
    [Benchmark] public void LutFourQueries() => _codebook.BuildLuts(_queries, 4, HeadDim, _luts);

    [Benchmark]
    public void ScoreGatherInstruction()
    {
        VqKernels.UseHardwareGather = true;
        fixed (float* l = _luts, s = _scores) fixed (ushort* c = _tokens) VqKernels.Gather(l, K - 1, c, Tokens, s);
    }

    [Benchmark(Baseline = true)]
    public void ScoreUnrolledScalar()
    {
        VqKernels.UseHardwareGather = false;
        fixed (float* l = _luts, s = _scores) fixed (ushort* c = _tokens) VqKernels.Gather(l, K - 1, c, Tokens, s);
    }
}
