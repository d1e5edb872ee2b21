namespace Sieve.Models;

/// <summary>
/// POP's virtual gates: block l's residual branch is scaled per stage, h_{l+1} = h_l + g_l^stage · F_l(h_l), where
/// F_l is the attention and the FFN contributions together. All gates 1 is the model itself; g = 0 removes the
/// layer's contribution for that stage while its K and V are still computed and cached (what POP keeps). Gates
/// near 1 (1 ± ε) give the loss's derivative in g by central differences, without autograd.
/// </summary>
public sealed class LayerGates
{
    readonly float[] _prefill, _decode;

    public LayerGates(float[] prefill, float[] decode)
    {
        if (prefill.Length != decode.Length) throw new ArgumentException("prefill and decode gates differ in length");
        foreach (var g in prefill.Concat(decode))
            if (!float.IsFinite(g)) throw new ArgumentException($"gate {g} is not a finite number");
        _prefill = (float[])prefill.Clone(); _decode = (float[])decode.Clone();
    }

    public int LayerCount => _decode.Length;

    public float Gate(ForwardStage stage, int layer) => stage == ForwardStage.Prefill ? _prefill[layer] : _decode[layer];

    /// <summary>Every gate 1 except layer <paramref name="layer"/>'s in <paramref name="stage"/>, which is <paramref name="value"/>.</summary>
    public static LayerGates One(int layers, ForwardStage stage, int layer, float value)
    {
        var pre = Enumerable.Repeat(1f, layers).ToArray();
        var dec = Enumerable.Repeat(1f, layers).ToArray();
        (stage == ForwardStage.Prefill ? pre : dec)[layer] = value;
        return new LayerGates(pre, dec);
    }
}
