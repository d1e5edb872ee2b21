namespace Sieve.Sparsity;

/// <summary>Where in a block small activations may be zeroed, named by the projection input they feed.</summary>
public enum SparseSite
{
    /// <summary>The attention norm's output as it enters q_proj only (CHESS+); k_proj and v_proj read it dense.</summary>
    QInput,
    /// <summary>The attention norm's output as it enters q_proj, k_proj and v_proj (TEAL).</summary>
    QkvInput,
    /// <summary>The concatenated heads entering o_proj.</summary>
    OInput,
    /// <summary>The FFN norm's output entering gate_proj and up_proj (TEAL).</summary>
    FfnInput,
    /// <summary>silu(x·W_gate) (GELU for Gemma): zeroed channels skip their row of W_up and of W_down (CATS, CHESS).</summary>
    Gate,
    /// <summary>act(gate)·up entering down_proj (TEAL).</summary>
    DownInput,
}
