namespace Sieve.Models;

/// <summary>Which layers run, and how, in each stage. The default runs every layer fully in both.</summary>
public sealed class LayerPlan
{
    readonly LayerMode[] _prefill, _decode;

    public LayerPlan(LayerMode[] prefill, LayerMode[] decode)
    {
        if (prefill.Length != decode.Length) throw new ArgumentException("prefill and decode plans differ in length");
        for (int i = 0; i < decode.Length; i++)
            if (decode[i] == LayerMode.Full && prefill[i] == LayerMode.Skip)
                throw new ArgumentException($"layer {i} runs in decode but is skipped in prefill: its KV cache would be empty (use KvOnly)");
        _prefill = prefill; _decode = decode;
    }

    public int LayerCount => _decode.Length;

    /// <summary>Whether some layer runs less in prefill than in decode (POP): a prompt's last token then needs decode depth.</summary>
    public bool PrunesPrefill
    {
        get
        {
            for (int i = 0; i < _decode.Length; i++)
                if (_prefill[i] != _decode[i]) return true;
            return false;
        }
    }

    /// <summary>Layers that are KvOnly in prefill and Full in decode, ascending.</summary>
    public IReadOnlyList<int> PrefillKvOnlyLayers => Enumerable.Range(0, _decode.Length).Where(i => _prefill[i] == LayerMode.KvOnly && _decode[i] == LayerMode.Full).ToArray();

    public LayerMode Mode(ForwardStage stage, int layer) => stage == ForwardStage.Prefill ? _prefill[layer] : _decode[layer];

    public static LayerPlan Full(int layers) => new(Enumerable.Repeat(LayerMode.Full, layers).ToArray(), Enumerable.Repeat(LayerMode.Full, layers).ToArray());

    /// <summary>Layers removed in both stages (static layer pruning).</summary>
    public static LayerPlan Removing(int layers, IEnumerable<int> removed)
    {
        var modes = Enumerable.Repeat(LayerMode.Full, layers).ToArray();
        foreach (int l in removed) modes[l] = LayerMode.Skip;
        return new LayerPlan(modes, (LayerMode[])modes.Clone());
    }

    public override string ToString() =>
        $"prefill [{string.Join("", _prefill.Select(Letter))}] decode [{string.Join("", _decode.Select(Letter))}]";

    static char Letter(LayerMode m) => m switch { LayerMode.Full => 'F', LayerMode.KvOnly => 'k', _ => '-' };
}
