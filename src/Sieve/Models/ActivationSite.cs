namespace Sieve.Models;

/// <summary>Named intermediates of a decoder block, in the order the forward pass produces them.</summary>
public enum ActivationSite
{
    /// <summary>The residual stream entering the layer (layer input).</summary>
    LayerInput,
    /// <summary>RMSNorm of the residual before attention (dim wide).</summary>
    AttnNorm,
    /// <summary>Queries after bias, QK-norm and RoPE (heads·headDim wide).</summary>
    Q,
    /// <summary>Keys after bias, QK-norm and RoPE, as they enter the KV cache (kvDim wide).</summary>
    K,
    /// <summary>Values as they enter the KV cache (kvDim wide).</summary>
    V,
    /// <summary>Attention output before the output projection (heads·headDim wide): the input of Wo.</summary>
    AttnOut,
    /// <summary>RMSNorm of the residual before the FFN (dim wide): the input of gate and up.</summary>
    FfnIn,
    /// <summary>act(gate) alone, silu(x·W_gate) (GELU-tanh for Gemma), ffn wide: what CATS and CHESS threshold.</summary>
    GateAct,
    /// <summary>The up projection x·W_up (ffn wide); under a gate mask, 0 where the channel was dropped.</summary>
    Up,
    /// <summary>silu(gate)·up (ffn wide): the input of the down projection.</summary>
    FfnAct,
    /// <summary>The residual stream leaving the layer (dim wide).</summary>
    Residual,
}
