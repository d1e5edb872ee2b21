using Sieve.Formats.Conversion;
using Sieve.Fuzz.Core;
using Sieve.Tensors;
using Sieve.Tokenization;

namespace Sieve.Fuzz.Seeds;

/// <summary>
/// Builds every format's seeds once per process, deterministically: fixture files read from the repository
/// (models/stories260K) and small files written here through the project's own writers. Seeds are kept small so one
/// input takes well under a few milliseconds.
/// </summary>
public static class SeedCorpus
{
    static FuzzInput One(string seed, string name, byte[] bytes) => new(seed, new Dictionary<string, byte[]> { [name] = bytes });

    static string Scratch()
    {
        var d = Path.Combine(Path.GetTempPath(), "sieve-fuzz-seeds", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }

    public static readonly Lazy<IReadOnlyList<FuzzInput>> Gguf = new(() =>
    {
        string dir = Scratch();
        try
        {
            var files = TinyTokenizers.ByteLevelBpe();
            foreach (var (n, b) in files) File.WriteAllBytes(Path.Combine(dir, n), b);
            var meta = TokenizerFactory.FromHuggingFace(dir).ToGgufMetadata();
            using var tiny = TinyModel.Checkpoint();
            string q8 = Path.Combine(dir, "tiny-bpe-q8_0.gguf"), f16 = Path.Combine(dir, "tiny-bpe-f16.gguf");
            ModelConverter.ToGguf(tiny, meta, GgmlType.Q8_0, q8);
            ModelConverter.ToGguf(tiny, meta, GgmlType.F16, f16);
            return [
                One("stories260K", "model.gguf", File.ReadAllBytes(RepoPaths.Stories260K("stories260K.gguf"))),
                One("tiny-bpe-q8_0", "model.gguf", File.ReadAllBytes(q8)),
                One("tiny-bpe-f16", "model.gguf", File.ReadAllBytes(f16)),
            ];
        }
        finally { Directory.Delete(dir, true); }
    });

    public static readonly Lazy<IReadOnlyList<FuzzInput>> HuggingFace = new(() =>
    {
        string dir = Scratch();
        try
        {
            using var tiny = TinyModel.Checkpoint();
            ModelConverter.ToHuggingFace(tiny, dir);
            var model = new Dictionary<string, byte[]>
            {
                ["config.json"] = File.ReadAllBytes(Path.Combine(dir, "config.json")),
                ["model.safetensors"] = File.ReadAllBytes(Path.Combine(dir, "model.safetensors")),
            };
            return [
                new FuzzInput("tiny-bpe", new Dictionary<string, byte[]>(model.Concat(TinyTokenizers.ByteLevelBpe()))),
                new FuzzInput("tiny-spm", new Dictionary<string, byte[]>(model.Concat(TinyTokenizers.SentencePieceBpe()))),
            ];
        }
        finally { Directory.Delete(dir, true); }
    });

    public static readonly Lazy<IReadOnlyList<FuzzInput>> Llama2c = new(() =>
    {
        var tok = File.ReadAllBytes(RepoPaths.Stories260K("tok512.bin"));
        return [
            new FuzzInput("stories260K", new Dictionary<string, byte[]> { ["model.bin"] = File.ReadAllBytes(RepoPaths.Stories260K("stories260K.bin")), ["tokenizer.bin"] = tok }),
            new FuzzInput("stories260K-v1", new Dictionary<string, byte[]> { ["model.bin"] = File.ReadAllBytes(RepoPaths.Stories260K("stories260K-v1.bin")), ["tokenizer.bin"] = tok }),
        ];
    });

    public static readonly Lazy<IReadOnlyList<FuzzInput>> Jsonl = new(() =>
        [
            One("story-questions", "task.jsonl", File.ReadAllBytes(Path.Combine(RepoPaths.Root, "models", "stories260K", "tasks", "story-questions.jsonl"))),
            .. TaskSeeds.JsonlLayouts().Select(kv => One(kv.Key, "task.jsonl", kv.Value)),
        ]);

    public static readonly Lazy<IReadOnlyList<FuzzInput>> Parquet = new(() =>
        TaskSeeds.ParquetLayouts().Select(kv => One(kv.Key, "task.parquet", kv.Value)).ToList());
}
