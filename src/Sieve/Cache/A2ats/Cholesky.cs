namespace Sieve.Cache.A2ats;

/// <summary>
/// Cholesky factorisation H = L·Lᵀ of a symmetric positive-definite d×d matrix, and the inverse of the triangular
/// factor, in double precision. Matrices are row-major <c>double[d*d]</c>.
/// </summary>
/// <remarks>
/// A²ATS turns the logit error (k−c)ᵀH(k−c) into a plain squared distance ‖(k−c)ᵀL‖², so k-means in x = kᵀL space
/// fits the query-aware objective, and C = X·L⁻¹ maps the centroids back. d is a head dimension (64–256), so the
/// O(d³/3) textbook Cholesky–Banachiewicz loop costs well under a millisecond; double precision because H's
/// condition number after the 1e-6·I ridge can reach ~1e6, which would leave float with about one correct digit.
/// </remarks>
public static class Cholesky
{
    /// <summary>The lower-triangular L with L·Lᵀ = <paramref name="h"/> (its strict upper triangle zero).</summary>
    /// <exception cref="ArgumentException">The matrix is not square d×d, not symmetric (relative 1e-9), holds a
    /// non-finite value, or is not positive definite (a pivot ≤ 0), naming the row where it failed.</exception>
    public static double[] Factor(ReadOnlySpan<double> h, int d)
    {
        if (d <= 0) throw new ArgumentException($"matrix size {d} is not positive");
        if (h.Length != d * d) throw new ArgumentException($"a {d}×{d} matrix needs {d * d} values, got {h.Length}");
        double scale = 0;
        for (int i = 0; i < h.Length; i++)
        {
            if (!double.IsFinite(h[i])) throw new ArgumentException($"matrix entry ({i / d}, {i % d}) is {h[i]}");
            scale = Math.Max(scale, Math.Abs(h[i]));
        }
        for (int i = 0; i < d; i++)
            for (int j = 0; j < i; j++)
                if (Math.Abs(h[i * d + j] - h[j * d + i]) > 1e-9 * Math.Max(scale, double.Epsilon))
                    throw new ArgumentException($"matrix is not symmetric: ({i}, {j}) = {h[i * d + j]} but ({j}, {i}) = {h[j * d + i]}");

        var l = new double[d * d];
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                double s = h[i * d + j];
                for (int k = 0; k < j; k++) s -= l[i * d + k] * l[j * d + k];
                if (i == j)
                {
                    // A pivot this small relative to the largest entry means H is singular to working precision.
                    if (!(s > 1e-14 * scale))
                        throw new ArgumentException($"matrix is not positive definite: pivot {i} of {d} is {s:G4} (largest entry {scale:G4})");
                    l[i * d + i] = Math.Sqrt(s);
                }
                else l[i * d + j] = s / l[j * d + j];
            }
        }
        return l;
    }

    /// <summary>The inverse of a lower-triangular <paramref name="l"/> (also lower-triangular), by forward substitution.</summary>
    /// <exception cref="ArgumentException">A zero or non-finite diagonal entry, or a wrong size.</exception>
    public static double[] InvertLower(ReadOnlySpan<double> l, int d)
    {
        if (d <= 0 || l.Length != d * d) throw new ArgumentException($"a {d}×{d} matrix needs {d * d} values, got {l.Length}");
        for (int i = 0; i < d; i++)
            if (l[i * d + i] == 0 || !double.IsFinite(l[i * d + i]))
                throw new ArgumentException($"triangular matrix has diagonal entry {l[i * d + i]} at row {i}: not invertible");
        var inv = new double[d * d];
        // Column j of L⁻¹ solves L·y = e_j; y_i = 0 for i < j.
        for (int j = 0; j < d; j++)
        {
            inv[j * d + j] = 1.0 / l[j * d + j];
            for (int i = j + 1; i < d; i++)
            {
                double s = 0;
                for (int k = j; k < i; k++) s += l[i * d + k] * inv[k * d + j];
                inv[i * d + j] = -s / l[i * d + i];
            }
        }
        return inv;
    }
}
