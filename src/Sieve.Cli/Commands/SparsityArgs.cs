using System.CommandLine;
using System.Globalization;
using Sieve.Models;
using Sieve.Sparsity;

namespace Sieve.Cli.Commands;

/// <summary>
/// The activation-sparsity options every command that runs a model shares: a thresholds file from
/// <c>sieve sparsity calibrate</c> (CATS, CHESS, CHESS+ or TEAL), and an ablation that runs the masked tensors
/// through the dense matmul instead of the sparse kernels. Composed with POP's options, never replacing them.
/// </summary>
sealed class SparsityArgs
{
    public readonly Option<string?> File = new("--sparsity-file") { Description = "Activation sparsity: a thresholds file written by `sieve sparsity calibrate` (CATS, CHESS, CHESS+ or TEAL)" };
    public readonly Option<bool> DenseKernels = new("--sparsity-dense-kernels")
    {
        Description = "Activation sparsity: run the masked activations through the dense matmul instead of the sparse kernels (an ablation: same zeros, no skipped weight reads)",
    };

    public readonly Option<bool> InputMajorOnly = new("--sparsity-input-major-only")
    {
        Description = "Activation sparsity: prefill through the input-major weight copies too, so the row-major weights that have one are never read (memory-mapped, they then cost no resident memory; prefill is slower)",
    };

    public readonly Option<bool> Verbose = new("--sparsity-verbose") { Description = "Activation sparsity: print the measured sparsity of every layer, not only the mean over layers" };

    public IEnumerable<Option> All => [File, DenseKernels, InputMajorOnly, Verbose];

    /// <summary>The operator set of the thresholds file, checked against <paramref name="model"/>; null when no file was given.</summary>
    public ActivationSparsity? Read(ParseResult r, Transformer model, string? modelName)
    {
        string? path = r.GetValue(File);
        bool dense = r.GetValue(DenseKernels), imOnly = r.GetValue(InputMajorOnly);
        if (dense && imOnly) throw new ArgumentException("--sparsity-input-major-only: the input-major copies exist only with the sparse kernels (drop --sparsity-dense-kernels)");
        if (path == null)
        {
            if (dense) throw new ArgumentException("--sparsity-dense-kernels: give --sparsity-file too");
            if (imOnly) throw new ArgumentException("--sparsity-input-major-only: give --sparsity-file too");
            if (r.GetValue(Verbose)) throw new ArgumentException("--sparsity-verbose: give --sparsity-file too");
            return null;
        }
        var thresholds = ActivationThresholdsFile.Load(path);
        return Apply(model, thresholds, path, modelName, dense, imOnly);
    }

    /// <summary>An operator set for <paramref name="thresholds"/>, with its shape checked and a note on stderr.</summary>
    public static ActivationSparsity Apply(Transformer model, ActivationThresholds thresholds, string source, string? modelName, bool denseKernels, bool inputMajorOnly = false)
    {
        try { thresholds.Validate(model.Config); }
        catch (InvalidDataException e) { throw new InvalidDataException($"--sparsity-file {source}: {e.Message}"); }
        if (thresholds.Model != null && modelName != null && thresholds.Model != modelName)
            Console.Error.WriteLine($"notice: {source} was calibrated on {thresholds.Model}; using it on {modelName} (same shape)");
        var set = new ActivationSparsity(model, thresholds, sparseKernels: !denseKernels, inputMajorOnly: inputMajorOnly);
        Console.Error.WriteLine($"sieve: activation sparsity {Describe(thresholds)}" + (denseKernels ? "; dense kernels on the masked activations (ablation)"
            : set.InputMajorBytes > 0 ? $"; sparse kernels, input-major weight copies {set.InputMajorBytes / 1048576.0:F1} MiB" : "")
            + (inputMajorOnly ? $"; prefill through them too: {set.RowMajorBytesUnread / 1048576.0:F1} MiB of row-major weights never read" : ""));
        return set;
    }

    /// <summary>"chess+ at 50% target" (or "at 30–70% target" for per-layer targets).</summary>
    public static string Describe(ActivationThresholds t)
    {
        float lo = t.TargetSparsity.Min(), hi = t.TargetSparsity.Max();
        return $"{t.Method.Name()} at {(lo == hi ? Pct(lo) : $"{Pct(lo)}–{Pct(hi)}")} target";
    }

    static string Pct(double v) => (v * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";

    /// <summary>The request's forward options: POP's (or none) with the sparsity set's operators added.</summary>
    public static ForwardOptions? Compose(ForwardOptions? pop, ActivationSparsity? sparsity) => sparsity == null ? pop : sparsity.Apply(pop);

    /// <summary>
    /// What the run really zeroed, on stderr: per site, the fraction over all layers (and per layer with
    /// <paramref name="perLayer"/>), beside the target.
    /// </summary>
    public void Report(ParseResult r, ActivationSparsity? set) => Report(set, r.GetValue(Verbose));

    public static void Report(ActivationSparsity? set, bool perLayer)
    {
        if (set == null) return;
        var s = set.Stats;
        var sites = s.SitesSeen().ToList();
        if (sites.Count == 0) { Console.Error.WriteLine("sieve: activation sparsity: nothing ran"); return; }
        Console.Error.WriteLine($"sieve: measured activation sparsity ({Describe(set.Thresholds)}): "
            + string.Join(", ", sites.Select(site => $"{ActivationThresholdsFile.Key(site)} {Pct(s.Sparsity(site))}")));
        if (!perLayer) return;
        for (int l = 0; l < s.LayerCount; l++)
            Console.Error.WriteLine($"sieve:   layer {l} (target {Pct(set.Thresholds.TargetSparsity[l])}): "
                + string.Join(", ", sites.Select(site => $"{ActivationThresholdsFile.Key(site)} {Pct(s.Sparsity(l, site))}")));
    }

    /// <summary>The measured sparsity as a JSON-ready record (per site over layers, and per layer); null without a set.</summary>
    public static object? Json(ActivationSparsity? set)
    {
        if (set == null) return null;
        var s = set.Stats;
        var sites = s.SitesSeen().ToList();
        return new
        {
            method = set.Thresholds.Method.Name(),
            target = set.Thresholds.TargetSparsity,
            sparse_kernels = set.SparseKernels,
            measured = sites.ToDictionary(ActivationThresholdsFile.Key, site => Num(s.Sparsity(site))),
            layers = Enumerable.Range(0, s.LayerCount).Select(l => sites.ToDictionary(ActivationThresholdsFile.Key, site => Num(s.Sparsity(l, site)))).ToList(),
        };
    }

    static double? Num(double v) => double.IsNaN(v) ? null : Math.Round(v, 5);
}
