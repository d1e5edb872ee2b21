namespace Sieve.Models;

/// <summary>Real model shapes by name, so benchmarks can run on random weights without a download.</summary>
public sealed record ShapePreset(string Name, int Dim, int Layers, int Heads, int KvHeads, int Ffn, int Vocab, int Context = 4096,
    string Architecture = "llama", int HeadDim = 0, int SlidingWindow = 0)
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
        // Google's published configs: head dim 256 (so heads × head dim ≠ embedding), GeGLU, sandwich norms.
        new("gemma2-2b",                   2304,    26,    8,  4,  9216, 256000, 8192, "gemma2", 256, 4096),
        new("gemma3-1b",                   1152,    26,    4,  1,  6912, 262144, 32768, "gemma3", 256, 512),
    ];

    public static ShapePreset Get(string name) =>
        All.FirstOrDefault(s => s.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown shape '{name}'; known shapes: {string.Join(", ", All.Select(s => s.Name))}");

    public ModelConfig ToConfig()
    {
        int hd = HeadDim > 0 ? HeadDim : Dim / Heads;
        var c = new ModelConfig
        {
            Architecture = Architecture, Dim = Dim, LayerCount = Layers, HeadCount = Heads, KvHeadCount = KvHeads,
            HeadDim = hd, RopeDim = hd, FfnDim = Ffn, VocabSize = Vocab, ContextLength = Context,
        };
        if (Architecture is not ("gemma2" or "gemma3")) return c;
        // Gemma 3 1B: global RoPE base 1 000 000, no linear scaling (only 4B and up scale by 8), eps 1e-6.
        return Gemma.Apply(c with { SlidingWindow = SlidingWindow, NormEps = 1e-6f, RopeTheta = Architecture == "gemma3" ? 1_000_000f : 10000f }, Architecture);
    }
}
