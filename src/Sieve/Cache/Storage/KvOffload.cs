namespace Sieve.Cache.Storage;

/// <summary>
/// The offloaded tier as typed data (<c>--kv-offload DIR</c>): each new cache gets a <see cref="FileKvTier"/>, one
/// memory-mapped file in <see cref="Directory"/> holding every (layer, KV head)'s full-precision keys and values.
/// The rows every decode step reads anyway — the first <see cref="ResidentSinks"/> and the last
/// <see cref="ResidentWindow"/> of each head — stay in RAM as well, so a step touches the file only for what its
/// selector picked beyond them.
/// </summary>
public sealed record KvOffload : IKvTierFactory
{
    public KvOffload(string directory)
    {
        if (string.IsNullOrWhiteSpace(directory)) throw new ArgumentException("--kv-offload: no directory given", nameof(directory));
        Directory = directory;
    }

    /// <summary>Where the caches' files go (each made private to the user and removed from the directory at once).</summary>
    public string Directory { get; }

    /// <summary>Leading rows of each head kept in RAM too: A²ATS's 8 attention sinks.</summary>
    public int ResidentSinks { get; init; } = 8;

    /// <summary>Trailing rows of each head kept in RAM too: A²ATS's local window of 64.</summary>
    public int ResidentWindow { get; init; } = 64;

    public string Name => "offload";

    public IKvTier Create(KvCacheShape shape)
    {
        if (ResidentSinks < 0 || ResidentWindow < 0) throw new ArgumentException($"--kv-offload: resident rows must be ≥ 0 (sinks {ResidentSinks}, window {ResidentWindow})");
        return new FileKvTier(this, shape);
    }

    /// <summary>Throws a clear error when <see cref="Directory"/> cannot hold offload files (missing, a file, not writable).</summary>
    public void CheckDirectory() => OffloadDirectory.Check(Directory);

    public override string ToString() => $"offload to {Directory}";
}
