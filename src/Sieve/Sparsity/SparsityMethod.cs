namespace Sieve.Sparsity;

/// <summary>Which activation-sparsity recipe a thresholds file holds (CHESS, its baseline CATS, and the peer TEAL).</summary>
public enum SparsityMethod
{
    /// <summary>CATS: one |silu(gate)| threshold per layer.</summary>
    Cats,
    /// <summary>CHESS without attention: a |silu(gate)| threshold per FFN channel, θ_i = τ / E|up_i|.</summary>
    Chess,
    /// <summary>CHESS with selective attention sparsification: CHESS plus per-layer thresholds on the q_proj and o_proj inputs.</summary>
    ChessPlus,
    /// <summary>TEAL: a magnitude threshold on the input of every projection (q, k, v, o, gate, up, down).</summary>
    Teal,
}

public static class SparsityMethods
{
    /// <summary>The name the CLI and the thresholds file use: cats, chess, chess+, teal.</summary>
    public static string Name(this SparsityMethod m) => m switch
    {
        SparsityMethod.Cats => "cats",
        SparsityMethod.Chess => "chess",
        SparsityMethod.ChessPlus => "chess+",
        SparsityMethod.Teal => "teal",
        _ => throw new ArgumentOutOfRangeException(nameof(m)),
    };

    public static bool TryParse(string? text, out SparsityMethod method)
    {
        foreach (var m in Enum.GetValues<SparsityMethod>())
            if (string.Equals(text, m.Name(), StringComparison.OrdinalIgnoreCase)) { method = m; return true; }
        method = default;
        return false;
    }

    /// <summary>The sites a method thresholds. CHESS+ never touches the k_proj/v_proj input: their errors are cached.</summary>
    public static IReadOnlyList<SparseSite> Sites(this SparsityMethod m) => m switch
    {
        SparsityMethod.Cats or SparsityMethod.Chess => [SparseSite.Gate],
        SparsityMethod.ChessPlus => [SparseSite.Gate, SparseSite.QInput, SparseSite.OInput],
        SparsityMethod.Teal => [SparseSite.QkvInput, SparseSite.OInput, SparseSite.FfnInput, SparseSite.DownInput],
        _ => throw new ArgumentOutOfRangeException(nameof(m)),
    };
}
