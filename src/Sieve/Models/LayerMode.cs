namespace Sieve.Models;

/// <summary>What one layer does in one stage.</summary>
public enum LayerMode
{
    /// <summary>Attention and FFN, as trained.</summary>
    Full,
    /// <summary>Only K and V are projected from the incoming residual and cached (POP's prefill for deep layers); the residual passes unchanged.</summary>
    KvOnly,
    /// <summary>The layer is not run at all (removed by pruning); its KV cache stays empty.</summary>
    Skip,
}
