using System.Diagnostics;
using Sieve.Models;

namespace Sieve.Cache;

/// <summary>Measures the time a cache spends in decode-stage attention (scoring, selection and attention, all layers).</summary>
public sealed class TimedKvCache(IKvCache inner) : IKvCache
{
    long _ticks;
    int _rows;

    public IKvCache Inner => inner;
    public int Length => inner.Length;
    public int Capacity => inner.Capacity;
    public KvMemory Memory => inner.Memory;

    /// <summary>Decode-stage attention time so far, and the decode steps it covers (rows of the last layer).</summary>
    public TimeSpan AttentionTime => Stopwatch.GetElapsedTime(0, _ticks);
    public void Reset() { _ticks = 0; _rows = 0; }

    public void Append(int layer, ForwardStage stage, int startPos, int count, ReadOnlySpan<float> k, ReadOnlySpan<float> v) =>
        inner.Append(layer, stage, startPos, count, k, v);

    public void Attend(int layer, ForwardStage stage, int startPos, int count, ReadOnlySpan<float> q, Span<float> output)
    {
        if (stage != ForwardStage.Decode)
        {
            inner.Attend(layer, stage, startPos, count, q, output);
            return;
        }
        long start = Stopwatch.GetTimestamp();
        inner.Attend(layer, stage, startPos, count, q, output);
        _ticks += Stopwatch.GetTimestamp() - start;
        _rows += count;
    }

    public void Truncate(int length) => inner.Truncate(length);
}
