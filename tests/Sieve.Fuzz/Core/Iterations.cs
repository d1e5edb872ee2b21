namespace Sieve.Fuzz.Core;

/// <summary>
/// Input number <c>i</c> of a format for a run seed is a pure function of (seed, format, i): the parent can rebuild
/// the input a dead or hung child was working on, and a run resumes after a restart exactly where it stopped.
/// </summary>
public static class Iterations
{
    public static Random RandomFor(int seed, string format, long i)
    {
        // FNV-1a over the format name, mixed with the seed and the index (string.GetHashCode is randomized per process).
        ulong h = 14695981039346656037;
        foreach (char c in format) { h ^= c; h *= 1099511628211; }
        h ^= (ulong)(uint)seed * 0x9E3779B97F4A7C15;
        h ^= (ulong)i * 0xC2B2AE3D27D4EB4F;
        h ^= h >> 29;
        return new Random((int)(h ^ (h >> 32)));
    }

    public static FuzzInput Input(IFuzzFormat format, int seed, long i)
    {
        var rng = RandomFor(seed, format.Name, i);
        var input = format.Mutate(format.Seeds[rng.Next(format.Seeds.Count)], rng);
        if (rng.Next(5) == 0) input = format.Mutate(input, rng);   // stacked mutations reach states one step cannot
        return input;
    }
}
