namespace Sieve.Models;

/// <summary>Real model shapes by name, so benchmarks can run on random weights without a download.</summary>
public sealed record ShapePreset(string Name, int Dim, int Layers, int Heads, int KvHeads, int Ffn, int Vocab, int Context = 4096)
{
    //                                        embedding layers heads kv  ffn    vocab
    public static readonly ShapePreset[] All =
    [
        new("stories260k",                   64,     5,    8,  4,   172,    512, 512),
        new("smollm-135m",                  576,    30,    9,  3,  1536,  49152),
        new("qwen-0.5b",                    896,    24,   14,  2,  4864, 151936),
        new("llama-1b",                    2048,    22,   32,  4,  5632,  32000),
        new("llama-3b",                    3072,    28,   24,  8,  8192,  32000),
        new("llama-8b",                    4096,    32,   32,  8, 14336, 128256),
    ];

    public static ShapePreset Get(string name) =>
        All.FirstOrDefault(s => s.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown shape '{name}'; known shapes: {string.Join(", ", All.Select(s => s.Name))}");

    public ModelConfig ToConfig() => new()
    {
        Architecture = "llama", Dim = Dim, LayerCount = Layers, HeadCount = Heads, KvHeadCount = KvHeads,
        HeadDim = Dim / Heads, RopeDim = Dim / Heads, FfnDim = Ffn, VocabSize = Vocab, ContextLength = Context,
    };
}
