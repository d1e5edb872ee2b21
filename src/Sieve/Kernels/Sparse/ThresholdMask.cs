using System.Numerics;
using System.Runtime.CompilerServices;

namespace Sieve.Kernels.Sparse;

/// <summary>
/// dst = x where |x| ≥ θ, else 0 (CATS, CHESS and TEAL's keep rule); returns how many of dst are zero. θ is one
/// value (per layer) or one per channel, the channel being the index within a row of θ.Length values (CHESS's
/// gate). θ = 0 keeps everything. x and dst may be the same span.
/// </summary>
public static class ThresholdMask
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static long Apply(ReadOnlySpan<float> x, float threshold, Span<float> dst)
    {
        if (dst.Length < x.Length) throw new ArgumentException("mask destination too small");
        int i = 0;
        long zeros = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var t = new Vector<float>(threshold);
            int w = Vector<float>.Count;
            for (; i + w <= x.Length; i += w)
            {
                var v = new Vector<float>(x[i..]);
                var kept = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(Vector.Abs(v), t), v, Vector<float>.Zero);
                kept.CopyTo(dst[i..]);
                zeros -= Vector.Sum(Vector.Equals(kept, Vector<float>.Zero));   // each equal lane is -1
            }
        }
        for (; i < x.Length; i++)
        {
            float v = MathF.Abs(x[i]) >= threshold ? x[i] : 0f;
            dst[i] = v;
            if (v == 0) zeros++;
        }
        return zeros;
    }

    /// <summary>Per-channel thresholds over rows of θ.Length values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static long Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> thresholds, Span<float> dst)
    {
        int width = thresholds.Length;
        if (width == 0 || x.Length % width != 0) throw new ArgumentException($"{x.Length} values are not whole rows of {width} channels");
        if (dst.Length < x.Length) throw new ArgumentException("mask destination too small");
        long zeros = 0;
        for (int r = 0; r < x.Length; r += width)
        {
            var xr = x.Slice(r, width);
            var dr = dst.Slice(r, width);
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                int w = Vector<float>.Count;
                for (; i + w <= width; i += w)
                {
                    var v = new Vector<float>(xr[i..]);
                    var kept = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(Vector.Abs(v), new Vector<float>(thresholds[i..])), v, Vector<float>.Zero);
                    kept.CopyTo(dr[i..]);
                    zeros -= Vector.Sum(Vector.Equals(kept, Vector<float>.Zero));
                }
            }
            for (; i < width; i++)
            {
                float v = MathF.Abs(xr[i]) >= thresholds[i] ? xr[i] : 0f;
                dr[i] = v;
                if (v == 0) zeros++;
            }
        }
        return zeros;
    }

    /// <summary>The scalar twin of both: θ(i) the threshold of value i.</summary>
    public static long Scalar(ReadOnlySpan<float> x, Func<int, float> threshold, Span<float> dst)
    {
        long zeros = 0;
        for (int i = 0; i < x.Length; i++)
        {
            dst[i] = MathF.Abs(x[i]) >= threshold(i) ? x[i] : 0f;
            if (dst[i] == 0) zeros++;
        }
        return zeros;
    }
}
