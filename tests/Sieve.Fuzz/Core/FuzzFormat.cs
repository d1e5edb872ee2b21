namespace Sieve.Fuzz.Core;

/// <summary>A format assembled from its seeds, its mutator and its target (see <see cref="FormatRegistry"/>).</summary>
public sealed class FuzzFormat(string name, Func<IReadOnlyList<FuzzInput>> seeds, Func<FuzzInput, Random, FuzzInput> mutate, Action<string, FuzzInput> run)
    : IFuzzFormat
{
    readonly Lazy<IReadOnlyList<FuzzInput>> _seeds = new(seeds);
    public string Name => name;
    public IReadOnlyList<FuzzInput> Seeds => _seeds.Value;
    public FuzzInput Mutate(FuzzInput seed, Random rng) => mutate(seed, rng);
    public void Run(string dir, FuzzInput input) => run(dir, input);
}
