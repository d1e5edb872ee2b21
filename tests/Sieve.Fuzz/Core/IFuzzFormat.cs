namespace Sieve.Fuzz.Core;

/// <summary>
/// A kind of user input: its seed corpus, a structure-aware mutator and the target that feeds an input to the
/// real public entry points. One implementation per format in Formats/.
/// </summary>
public interface IFuzzFormat
{
    /// <summary>Short name used on the command line, in the counts table and as the regression folder name.</summary>
    string Name { get; }

    /// <summary>Valid inputs to mutate; every one must load (checked when a fuzz process starts).</summary>
    IReadOnlyList<FuzzInput> Seeds { get; }

    /// <summary>A mutated copy of <paramref name="seed"/>; deterministic for the state of <paramref name="rng"/>.</summary>
    FuzzInput Mutate(FuzzInput seed, Random rng);

    /// <summary>
    /// Feeds the input, already written to <paramref name="dir"/>, to Sieve the way a user's command would. Returns
    /// normally when it loaded (and ran); throws whatever Sieve throws. The oracle decides what is acceptable.
    /// </summary>
    void Run(string dir, FuzzInput input);
}
