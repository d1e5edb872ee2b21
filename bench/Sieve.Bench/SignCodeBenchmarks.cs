using BenchmarkDotNet.Attributes;
using Sieve.Kernels;

namespace Sieve.Bench;

/// <summary>
/// The Self-Indexing cache's per-step work for one KV head at a long context: scoring every compressed token from
/// its sign codes (table and Hamming, SIMD against the scalar twins), then the top-100. Run with
/// <c>dotnet run -c Release --project bench/Sieve.Bench -- --filter *SignCode*</c>.
/// </summary>
[MemoryDiagnoser]
public unsafe class SignCodeBenchmarks
{
    [Params(32768)] public int Tokens;
    [Params(64, 128)] public int HeadDim;

    byte[] _codes = [];
    float[] _lut = [], _scores = [];
    int[] _ints = [], _top = [];
    byte[] _query = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _codes = new byte[Tokens * SignCodes.CodeBytes(HeadDim)];
        rng.NextBytes(_codes);
        _lut = Enumerable.Range(0, SignCodes.Groups(HeadDim) * 16).Select(_ => (float)rng.NextDouble()).ToArray();
        _query = new byte[SignCodes.CodeBytes(HeadDim)];
        rng.NextBytes(_query);
        _scores = new float[Tokens];
        _ints = new int[Tokens];
        _top = new int[100];
        fixed (byte* c = _codes) fixed (float* l = _lut, s = _scores) SignCodes.ScoreLut(c, Tokens / 16, SignCodes.CodeBytes(HeadDim), l, s);
    }

    [Benchmark(Baseline = true)]
    public void TableScalar()
    {
        fixed (byte* c = _codes) fixed (float* l = _lut, s = _scores) SignCodes.ScoreLutScalar(c, Tokens / 16, SignCodes.CodeBytes(HeadDim), l, s);
    }

    [Benchmark]
    public void TableSimd()
    {
        fixed (byte* c = _codes) fixed (float* l = _lut, s = _scores) SignCodes.ScoreLut(c, Tokens / 16, SignCodes.CodeBytes(HeadDim), l, s);
    }

    [Benchmark]
    public void HammingScalar()
    {
        fixed (byte* c = _codes, q = _query) fixed (int* s = _ints) SignCodes.ScoreHammingScalar(c, Tokens / 16, SignCodes.CodeBytes(HeadDim), q, HeadDim, s);
    }

    [Benchmark]
    public void HammingSimd()
    {
        fixed (byte* c = _codes, q = _query) fixed (int* s = _ints) SignCodes.ScoreHamming(c, Tokens / 16, SignCodes.CodeBytes(HeadDim), q, HeadDim, s);
    }

    [Benchmark]
    public int Top100()
    {
        fixed (float* s = _scores) fixed (int* t = _top) return TopK.Select(s, Tokens, 100, t);
    }
}
