using BenchmarkDotNet.Attributes;
using Sieve.Cache;
using Sieve.Cache.Sparse;
using Sieve.Cache.Storage;

namespace Sieve.Bench;

/// <summary>
/// One decode step's reads of one KV head at a long context: the keys and values of 3% of 32K tokens (A²ATS's
/// default budget), scattered at random, from the in-memory tier (<see cref="HeadStore"/>) and from the offloaded
/// one (<see cref="FileKvStore"/>, nothing resident, so every row comes through the mapping). The file was just
/// written, so its pages sit in the page cache: this is the mapping's cost, not the disk's. Run with
/// <c>dotnet run -c Release --project bench/Sieve.Bench -- --filter *OffloadRead*</c>.
/// </summary>
[MemoryDiagnoser]
public class OffloadReadBenchmarks : IDisposable
{
    [Params(32768)] public int Tokens;
    [Params(64)] public int HeadDim;
    /// <summary>Rows a step reads per KV head: 3% of the context.</summary>
    public int Selected => Tokens * 3 / 100;

    string _dir = "";
    IKvTier? _tier;
    IKvStore _ram = null!, _file = null!;
    int[] _slots = [];
    float[] _row = [];

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("sieve-bench-").FullName;
        _tier = new KvOffload(_dir) { ResidentSinks = 0, ResidentWindow = 0 }.Create(new KvCacheShape(1, 1, 1, HeadDim, Tokens));
        _file = _tier.CreateStore(0, 0, HeadDim, KvElement.F16, false, Tokens);
        _ram = new HeadStore(HeadDim, KvElement.F16, false, Tokens);
        var rng = new Random(3);
        var k = new float[HeadDim];
        var v = new float[HeadDim];
        for (int t = 0; t < Tokens; t++)
        {
            for (int j = 0; j < HeadDim; j++) { k[j] = (float)rng.NextDouble(); v[j] = (float)rng.NextDouble(); }
            _ram.Add(t, k, v);
            _file.Add(t, k, v);
        }
        _slots = Enumerable.Range(0, Tokens).OrderBy(_ => rng.Next()).Take(Selected).Order().ToArray();
        _row = new float[HeadDim];
    }

    void ReadSelected(IKvStore store)
    {
        foreach (int s in _slots)
        {
            store.ReadKey(s, _row);
            store.ReadValue(s, _row);
        }
    }

    [Benchmark(Baseline = true)]
    public void HeadStoreSelected() => ReadSelected(_ram);

    [Benchmark]
    public void FileKvStoreSelected() => ReadSelected(_file);

    [GlobalCleanup]
    public void Dispose()
    {
        _tier?.Dispose();
        if (_dir.Length > 0) Directory.Delete(_dir, recursive: true);
        GC.SuppressFinalize(this);
    }
}
