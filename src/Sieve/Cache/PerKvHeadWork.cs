using System.Runtime.CompilerServices;
using Sieve.Threading;

namespace Sieve.Cache;

/// <summary>
/// Decode-path attention split into one work item per (query row, KV head), for caches that choose their rows per KV
/// head: the subclass attends one item; this class pins the queries and the output for the parallel region.
/// </summary>
internal abstract unsafe class PerKvHeadWork(KvCacheShape shape, WorkerPool? pool) : IRangeWork
{
    protected int Layer, Start, Rows;
    protected float* Q, Out;

    public void Run(int layer, int startPos, int count, ReadOnlySpan<float> q, Span<float> output)
    {
        int items = count * shape.KvHeads;
        fixed (float* pq = q, po = output)
        {
            Layer = layer; Start = startPos; Rows = count; Q = pq; Out = po;
            if (pool != null && items > 1) pool.Run(this, items, grain: 1);
            else Execute(0, items);
            Q = Out = null;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute(int startItem, int endItem)
    {
        for (int item = startItem; item < endItem; item++) AttendHead(item / shape.KvHeads, item % shape.KvHeads);
    }

    /// <summary>Row <paramref name="row"/> (position Start + row) and the query heads of <paramref name="kvHead"/>.</summary>
    protected abstract void AttendHead(int row, int kvHead);
}
