namespace Sieve.Sparsity;

/// <summary>
/// The activation sparsity a run really reached, per layer and site: how many of the values entering each
/// thresholded projection were zero, counted after the mask (a value that was exactly 0 before counts too).
/// Safe to share between the runners of concurrent requests.
/// </summary>
public sealed class SparsityStats(int layerCount)
{
    static readonly int Sites = Enum.GetValues<SparseSite>().Length;
    readonly long[] _zeros = new long[layerCount * Sites];
    readonly long[] _total = new long[layerCount * Sites];

    public int LayerCount { get; } = layerCount;

    public void Add(int layer, SparseSite site, long zeros, long total)
    {
        int i = layer * Sites + (int)site;
        Interlocked.Add(ref _zeros[i], zeros);
        Interlocked.Add(ref _total[i], total);
    }

    long _decodeBytes;

    /// <summary>Weight bytes the single-row (decode) products of this set read, all layers together.</summary>
    public long DecodeBytes => Interlocked.Read(ref _decodeBytes);

    public void AddDecodeBytes(long bytes) => Interlocked.Add(ref _decodeBytes, bytes);

    public long Total(int layer, SparseSite site) => Interlocked.Read(ref _total[layer * Sites + (int)site]);

    /// <summary>The fraction of zeros seen, or NaN when the site saw nothing.</summary>
    public double Sparsity(int layer, SparseSite site)
    {
        int i = layer * Sites + (int)site;
        long t = Interlocked.Read(ref _total[i]);
        return t == 0 ? double.NaN : (double)Interlocked.Read(ref _zeros[i]) / t;
    }

    /// <summary>Over every layer, weighted by the values seen; NaN when the site saw nothing.</summary>
    public double Sparsity(SparseSite site)
    {
        long z = 0, t = 0;
        for (int l = 0; l < LayerCount; l++)
        {
            z += Interlocked.Read(ref _zeros[l * Sites + (int)site]);
            t += Interlocked.Read(ref _total[l * Sites + (int)site]);
        }
        return t == 0 ? double.NaN : (double)z / t;
    }

    /// <summary>The sites that saw any value, in enum order.</summary>
    public IEnumerable<SparseSite> SitesSeen() =>
        Enum.GetValues<SparseSite>().Where(s => Enumerable.Range(0, LayerCount).Any(l => Total(l, s) > 0));

    public void Reset()
    {
        Array.Clear(_zeros);
        Array.Clear(_total);
        Interlocked.Exchange(ref _decodeBytes, 0);
    }
}
