namespace Sieve.Models;

/// <summary>
/// What makes a Gemma 2 or Gemma 3 decoder, as published with the models (transformers' Gemma2Config and
/// Gemma3TextConfig defaults, Google's reports): one place the loaders, the shape presets and the converter share.
/// </summary>
public static class Gemma
{
    /// <summary>Gemma 2's window, logit caps and query scalar of the 2B/9B models.</summary>
    public const int Gemma2Window = 4096;
    public const float Gemma2AttnSoftcap = 50f, Gemma2FinalSoftcap = 30f;
    /// <summary>Gemma 3: five sliding layers, then one global (layers 5, 11, 17 … attend to everything).</summary>
    public const int Gemma3Period = 6;
    /// <summary>Gemma 2 alternates: even layers slide, odd layers are global.</summary>
    public const int Gemma2Period = 2;
    public const float Gemma3LocalRopeBase = 10000f;

    /// <summary>Layer l slides unless (l + 1) is a multiple of <paramref name="period"/>: both Gemmas' pattern.</summary>
    public static bool[] Pattern(int layers, int period) => Enumerable.Range(0, layers).Select(l => (l + 1) % period != 0).ToArray();

    /// <summary>
    /// The Gemma semantics on top of a shape: GeGLU, sandwich norms, √dim embedding scale, rotate-half RoPE, tied
    /// embeddings, and for Gemma 2 the soft-caps, for Gemma 3 QK-norm and the local RoPE base. Window, pattern,
    /// caps and scalars given by a file are applied afterwards by the loader.
    /// </summary>
    public static ModelConfig Apply(ModelConfig c, string arch)
    {
        bool g3 = arch == "gemma3";
        return c with
        {
            Architecture = arch,
            Activation = FfnActivation.GeluTanh,
            SandwichNorms = true,
            // transformers multiplies by hidden_size**0.5 in the model's dtype; llama.cpp by sqrtf(n_embd).
            EmbeddingScale = MathF.Sqrt(c.Dim),
            RopeStyle = RopeStyle.Neox,
            TiedEmbeddings = true,
            QkNorm = g3,
            QkvBias = false,
            AttnLogitSoftcap = g3 ? 0 : Gemma2AttnSoftcap,
            FinalLogitSoftcap = g3 ? 0 : Gemma2FinalSoftcap,
            SlidingWindow = c.SlidingWindow > 0 ? c.SlidingWindow : g3 ? 512 : Gemma2Window,
            SlidingLayers = c.SlidingLayers ?? Pattern(c.LayerCount, g3 ? Gemma3Period : Gemma2Period),
            SlidingRopeTheta = g3 ? Gemma3LocalRopeBase : 0,
            QueryPreAttnScalar = c.QueryPreAttnScalar > 0 ? c.QueryPreAttnScalar : DefaultQueryScalar(arch, c),
        };
    }

    /// <summary>
    /// query_pre_attn_scalar when a file does not say: head dim, except the 27B models, which use dim / heads
    /// (144 for Gemma 2 27B and 168 for Gemma 3 27B). GGUF has no key for it; llama.cpp decides by layer count the same way.
    /// </summary>
    public static float DefaultQueryScalar(string arch, ModelConfig c) =>
        (arch == "gemma2" && c.LayerCount == 46) || (arch == "gemma3" && c.LayerCount == 62) ? (float)c.Dim / c.HeadCount : c.HeadDim;
}
