using Sieve.Models;

namespace Sieve.Kernels;

/// <summary>
/// Rotary position embedding tables for one model: cos/sin per position and frequency, computed once (llama3
/// scaling folded in), so applying RoPE is a multiply-add per pair. Thread-safe: one model's table serves every
/// runner; growth publishes a new, larger table and readers keep the one they started with.
/// </summary>
public sealed class Rope
{
    readonly int _half;          // rotated pairs per head
    readonly int _headDim;
    readonly RopeStyle _style;
    readonly float[] _inv;       // [ropeDim/2] inverse frequencies
    sealed record Table(float[] Cos, float[] Sin, int Positions);
    Table _table = new([], [], 0);
    readonly Lock _grow = new();

    public Rope(ModelConfig c) : this(c.HeadDim, c.RopeDim, c.RopeStyle, c.RopeTheta, c.RopeScaling) { }

    /// <summary>The tables of one layer's RoPE (Gemma 3's sliding and global layers differ in base and scaling).</summary>
    public Rope(ModelConfig c, BlockSpec block) : this(c.HeadDim, c.RopeDim, c.RopeStyle, block.RopeTheta, block.RopeScaling, block.RopeLinearFactor) { }

    public Rope(int headDim, int ropeDim, RopeStyle style, float theta, RopeScaling? scaling = null, float linearFactor = 1f)
    {
        _headDim = headDim;
        Theta = theta;
        Scaling = scaling;
        LinearFactor = linearFactor;
        if (ropeDim <= 0) ropeDim = headDim;
        _half = ropeDim / 2;
        _style = style;
        _inv = new float[_half];
        for (int i = 0; i < _half; i++)
        {
            // llama2.c: 1 / powf(theta, 2i / headSize) in f32; keep f32 so the oracles match exactly.
            float freq = 1f / MathF.Pow(theta, 2 * i / (float)ropeDim);
            if (scaling is { } s) freq = Llama3Scale(freq, s);
            // Linear scaling (position interpolation): every frequency slows by the factor.
            if (linearFactor != 1f) freq /= linearFactor;
            _inv[i] = freq;
        }
    }

    /// <summary>Pair convention: interleaved (GGUF llama, llama2.c) or rotate-half (Hugging Face, Neox).</summary>
    public RopeStyle Style => _style;
    /// <summary>Dimensions rotated per head (the rest pass through: partial RoPE).</summary>
    public int RotatedDims => 2 * _half;
    public float Theta { get; }
    /// <summary>Llama 3.1's frequency scaling, or null.</summary>
    public RopeScaling? Scaling { get; }
    /// <summary>Position interpolation's factor (Gemma 3's global layers: 8), 1 for none.</summary>
    public float LinearFactor { get; }

    public override string ToString() =>
        $"{_style} θ={Theta}{(Scaling is { } sc ? $" llama3×{sc.Factor}" : "")}{(LinearFactor != 1 ? $" linear×{LinearFactor}" : "")}{(RotatedDims != _headDim ? $" {RotatedDims}/{_headDim} dims" : "")}";

    /// <summary>Whether this table rotates exactly as <paramref name="other"/> would (layers share one then).</summary>
    internal bool SameAs(Rope other) => _headDim == other._headDim && _style == other._style && _inv.AsSpan().SequenceEqual(other._inv);

    /// <summary>Llama 3.1: long wavelengths slow down by the factor, short ones stay, and a smooth blend in between.</summary>
    static float Llama3Scale(float freq, RopeScaling s)
    {
        double lowWavelen = s.OriginalContextLength / s.LowFreqFactor;
        double highWavelen = s.OriginalContextLength / s.HighFreqFactor;
        double wavelen = 2 * Math.PI / freq;
        if (wavelen < highWavelen) return freq;
        if (wavelen > lowWavelen) return (float)(freq / s.Factor);
        double smooth = (s.OriginalContextLength / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
        return (float)((1 - smooth) * freq / s.Factor + smooth * freq);
    }

    Table Ensure(int positions)
    {
        var t = Volatile.Read(ref _table);
        if (positions <= t.Positions) return t;
        lock (_grow)
        {
            t = _table;
            if (positions <= t.Positions) return t;
            int n = Math.Max(positions, Math.Min(Math.Max(t.Positions * 2, 256), 1 << 20));
            var cos = new float[n * _half];
            var sin = new float[n * _half];
            for (int p = 0; p < n; p++)
                for (int i = 0; i < _half; i++)
                {
                    float val = p * _inv[i];
                    cos[p * _half + i] = MathF.Cos(val);
                    sin[p * _half + i] = MathF.Sin(val);
                }
            t = new Table(cos, sin, n);
            Volatile.Write(ref _table, t);
            return t;
        }
    }

    /// <summary>Rotates every head of <paramref name="x"/> (heads × headDim) for position <paramref name="pos"/>.</summary>
    public void Apply(Span<float> x, int heads, int pos) => Rotate(x, heads, pos, 1f);

    /// <summary>
    /// Undoes <see cref="Apply"/> for position <paramref name="pos"/>: R_pos⁻¹ = R_−pos, from the same table, so a
    /// post-RoPE key comes back pre-RoPE to within a rounding (caches that code keys position-free: A²ATS).
    /// </summary>
    public void ApplyInverse(Span<float> x, int heads, int pos) => Rotate(x, heads, pos, -1f);

    void Rotate(Span<float> x, int heads, int pos, float direction)
    {
        var t = Ensure(pos + 1);
        var cos = t.Cos.AsSpan(pos * _half, _half);
        var sin = t.Sin.AsSpan(pos * _half, _half);
        for (int h = 0; h < heads; h++)
        {
            var v = x.Slice(h * _headDim, _headDim);
            if (_style == RopeStyle.Interleaved)
            {
                for (int i = 0; i < _half; i++)
                {
                    float a = v[2 * i], b = v[2 * i + 1], sn = direction * sin[i];
                    v[2 * i] = a * cos[i] - b * sn;
                    v[2 * i + 1] = a * sn + b * cos[i];
                }
            }
            else
            {
                for (int i = 0; i < _half; i++)
                {
                    float a = v[i], b = v[i + _half], sn = direction * sin[i];
                    v[i] = a * cos[i] - b * sn;
                    v[i + _half] = a * sn + b * cos[i];
                }
            }
        }
    }
}
