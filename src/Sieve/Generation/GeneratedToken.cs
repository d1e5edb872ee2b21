namespace Sieve.Generation;

/// <summary>One generated token and the text it completes (empty while a multi-byte character is split).</summary>
public readonly record struct GeneratedToken(int Id, string Text);
