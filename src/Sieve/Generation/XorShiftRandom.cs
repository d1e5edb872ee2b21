namespace Sieve.Generation;

/// <summary>llama2.c's xorshift64* generator, so seeded runs reproduce its sampled outputs exactly.</summary>
public sealed class XorShiftRandom(ulong seed)
{
    ulong _state = seed;

    public uint NextUInt32()
    {
        _state ^= _state >> 12;
        _state ^= _state << 25;
        _state ^= _state >> 27;
        return (uint)((_state * 0x2545F4914F6CDD1DUL) >> 32);
    }

    /// <summary>A float in [0, 1) with 24 random bits.</summary>
    public float NextSingle() => (NextUInt32() >> 8) / 16777216.0f;
}
