namespace Sieve.Cache.Sparse;

/// <summary>A selector head that holds per-token index data (codes) reports it, so the cache's memory is read off real buffers.</summary>
public interface IIndexMemory
{
    /// <summary>Bytes the index holds now (its per-token buffers; shared tables such as codebooks excluded).</summary>
    long IndexBytes { get; }
    /// <summary>Index bytes one more token costs this head.</summary>
    double IndexBytesPerToken { get; }
}

/// <summary>A selector head whose index can be copied from another head's (one prompt's cache expanded to B sequences) rather than rebuilt.</summary>
public interface ICopyableIndex
{
    void CopyFrom(IHeadSelector source);
}
