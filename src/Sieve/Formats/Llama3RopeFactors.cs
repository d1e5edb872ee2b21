using Sieve.Models;

namespace Sieve.Formats;

/// <summary>
/// Llama 3.1's RoPE scaling as per-frequency divisors, the form GGUF stores (<c>rope_freqs.weight</c>), and back.
/// </summary>
/// <remarks>
/// For frequency i of a head, wavelength λ = 2π·θ^(2i/d). Wavelengths shorter than original/high_freq_factor
/// keep their frequency (divisor 1), those longer than original/low_freq_factor are divided by factor, and in
/// between the divisor blends smoothly: 1 / ((1−s)/factor + s) with s = (original/λ − low)/(high − low).
/// GGUF keeps only the divisors, so the parameters are recovered by fitting that line; because s depends on
/// original, low and high only through original/(high−low) and low/(high−low), any one of them may be fixed
/// (we fix original) and the fitted others reproduce the same divisors.
/// </remarks>
public static class Llama3RopeFactors
{
    /// <summary>The divisors for <paramref name="ropeDim"/>/2 frequencies, as llama.cpp's converter computes them.</summary>
    public static float[] Compute(RopeScaling s, int ropeDim, double theta)
    {
        var result = new float[ropeDim / 2];
        double lowWavelen = s.OriginalContextLength / s.LowFreqFactor;
        double highWavelen = s.OriginalContextLength / s.HighFreqFactor;
        for (int i = 0; i < result.Length; i++)
        {
            double wavelen = Wavelength(i, ropeDim, theta);
            if (wavelen < highWavelen) result[i] = 1;
            else if (wavelen > lowWavelen) result[i] = (float)s.Factor;
            else
            {
                double smooth = (s.OriginalContextLength / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                result[i] = (float)(1 / ((1 - smooth) / s.Factor + smooth));
            }
        }
        return result;
    }

    static double Wavelength(int i, int ropeDim, double theta) => 2 * Math.PI * Math.Pow(theta, 2.0 * i / ropeDim);

    /// <summary>
    /// Parameters that reproduce <paramref name="divisors"/>, null when all are 1 (no scaling). Throws a
    /// <see cref="ModelFileException"/> when no Llama 3 scaling explains them, rather than run with wrong positions.
    /// </summary>
    public static RopeScaling? Fit(float[] divisors, int ropeDim, double theta, int originalContext, string path)
    {
        ModelFileException Bad(string why) => new(path, $"rope_freqs.weight {why}, so it is not Llama 3 rope scaling, which is the only kind Sieve supports");
        if (divisors.Length != ropeDim / 2) throw Bad($"has {divisors.Length} values but the rope dimension {ropeDim} needs {ropeDim / 2}");
        foreach (var f in divisors)
            if (!float.IsFinite(f) || f < 1 - 1e-4f || f > 1e6f) throw Bad($"holds the value {f}");
        double factor = divisors.Max();
        if (factor < 1 + 1e-6) return null;

        // Split into kept (≈1), blended and divided (≈factor) frequencies, collecting (1/λ, s) for the blended ones.
        var xs = new List<double>(); var ss = new List<double>();
        int lastKept = -1, firstDivided = divisors.Length;
        for (int i = 0; i < divisors.Length; i++)
        {
            double f = divisors[i];
            double x = 1 / Wavelength(i, ropeDim, theta);
            if (Math.Abs(f - 1) <= 1e-5) lastKept = i;
            else if (Math.Abs(f - factor) <= 1e-5 * factor) firstDivided = Math.Min(firstDivided, i);
            else { xs.Add(x); ss.Add((1 / f - 1 / factor) / (1 - 1 / factor)); }
        }

        double a, b; // s = a·(1/λ) + b
        double XAt(int i) => 1 / Wavelength(i, ropeDim, theta);
        if (xs.Count >= 2)
        {
            double mx = xs.Average(), ms = ss.Average(), sxx = 0, sxs = 0;
            for (int k = 0; k < xs.Count; k++) { sxx += (xs[k] - mx) * (xs[k] - mx); sxs += (xs[k] - mx) * (ss[k] - ms); }
            if (sxx <= 0) throw Bad("is not a smooth ramp");
            a = sxs / sxx; b = ms - a * mx;
        }
        else
        {
            // Too few blended points to fit: put the edges between neighbouring frequencies (geometric middle),
            // where any choice gives the same divisors.
            double xHigh = lastKept >= 0 && lastKept + 1 < divisors.Length ? Math.Sqrt(XAt(lastKept) * XAt(lastKept + 1)) : double.NaN;
            double xLow = firstDivided > 0 && firstDivided < divisors.Length ? Math.Sqrt(XAt(firstDivided) * XAt(firstDivided - 1)) : double.NaN;
            if (xs.Count == 1)
            {
                // The line must pass through the blended point, reach 1 before the nearest kept frequency, 0 before
                // the nearest divided one, and cross 0 at a positive 1/λ; any slope steeper than all three works.
                double x0 = xs[0], s0 = ss[0], need = s0 / x0;
                if (lastKept >= 0) need = Math.Max(need, (1 - s0) / (XAt(lastKept) - x0));
                if (firstDivided < divisors.Length) need = Math.Max(need, s0 / (x0 - XAt(firstDivided)));
                a = 1.5 * need;
                b = s0 - a * x0;
            }
            else
            {
                if (double.IsNaN(xHigh)) xHigh = XAt(0) * 2;               // nothing kept: edge above the highest frequency
                if (double.IsNaN(xLow)) xLow = XAt(divisors.Length - 1) / 2; // nothing divided: edge below the lowest
                if (xHigh <= xLow) throw Bad("is not monotonic");
                a = 1 / (xHigh - xLow); b = -a * xLow;
            }
        }
        if (!(a > 0) || !double.IsFinite(b)) throw Bad("does not fall from high to low frequencies");

        double span = originalContext / a;   // high − low
        double low = -b * span, high = low + span;
        if (!(low > 0) || !(high > low)) throw Bad($"gives implausible frequency edges (low {low}, high {high})");
        var result = new RopeScaling(factor, low, high, originalContext);

        var check = Compute(result, ropeDim, theta);
        for (int i = 0; i < check.Length; i++)
            if (Math.Abs(check[i] - divisors[i]) > 1e-3 * divisors[i])
                throw Bad($"value {i} ({divisors[i]}) does not follow the Llama 3 ramp (expected {check[i]})");
        return result;
    }
}
