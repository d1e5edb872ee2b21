using System.Text;
using Sieve.Fuzz.Gguf;
using Sieve.Fuzz.Mutators;
using Sieve.Fuzz.Seeds;
using Sieve.Fuzz.Targets;

namespace Sieve.Fuzz.Core;

/// <summary>
/// Every fuzzed format: which seeds, which file of the input the mutator changes, and which target runs it.
/// </summary>
/// <remarks>
/// Extension point for HTTP request bodies: Sieve has no server yet. When one exists, add a format here whose seeds
/// are valid request bodies (chat/completions JSON), whose mutator is a <see cref="Json.JsonMutator"/> with the API's
/// keys (messages, role, content, max_tokens, temperature, stop, stream), and whose target posts the body to the
/// server's request handler in-process (not over a socket) and accepts only a 4xx response naming the field.
/// </remarks>
public static class FormatRegistry
{
    public static readonly IReadOnlyList<IFuzzFormat> All =
    [
        new FuzzFormat("gguf", () => SeedCorpus.Gguf.Value,
            (s, rng) => s.With("model.gguf", GgufMutator.Mutate(s.Files["model.gguf"], rng)),
            (dir, _) => ModelTarget.Run(Path.Combine(dir, "model.gguf"))),
        new FuzzFormat("safetensors", () => SeedCorpus.HuggingFace.Value,
            (s, rng) => s.With("model.safetensors", SafeTensorsMutator.Mutate(s.Files["model.safetensors"], rng)),
            (dir, _) => ModelTarget.Run(dir)),
        new FuzzFormat("hf-config", () => SeedCorpus.HuggingFace.Value,
            (s, rng) => s.With("config.json", ConfigJsonMutator.Mutate(s.Files["config.json"], rng)),
            (dir, _) => ModelTarget.Run(dir)),
        new FuzzFormat("hf-tokenizer", () => SeedCorpus.HuggingFace.Value,
            (s, rng) =>
            {
                // Mostly tokenizer.json; its companions carry the special tokens, flags and chat template.
                var names = s.Files.Keys.Where(n => n.StartsWith("tokenizer", StringComparison.Ordinal) || n.StartsWith("generation", StringComparison.Ordinal)).Order().ToList();
                string name = rng.Next(4) != 0 || names.Count < 2 ? "tokenizer.json" : names[rng.Next(names.Count)];
                return s.With(name, TokenizerJsonMutator.Mutate(s.Files[name], rng));
            },
            (dir, _) => ModelTarget.Run(dir)),
        new FuzzFormat("llama2c", () => SeedCorpus.Llama2c.Value,
            (s, rng) => s.With("model.bin", Llama2cCheckpointMutator.Mutate(s.Files["model.bin"], rng)),
            (dir, _) => ModelTarget.Run(Path.Combine(dir, "model.bin"))),
        new FuzzFormat("llama2c-tokenizer", () => SeedCorpus.Llama2c.Value,
            (s, rng) => s.With("tokenizer.bin", Llama2cTokenizerMutator.Mutate(s.Files["tokenizer.bin"], rng)),
            (dir, _) => ModelTarget.Run(Path.Combine(dir, "model.bin"))),
        new FuzzFormat("jsonl", () => SeedCorpus.Jsonl.Value,
            (s, rng) => s.With("task.jsonl", JsonlTaskMutator.Mutate(s.Files["task.jsonl"], rng, SeedCorpus.Jsonl.Value.Select(x => x.Files["task.jsonl"]).ToList()))
                         .With(TaskTarget.OptionsFile, Encoding.UTF8.GetBytes(TaskTarget.Options(rng))),
            (dir, input) => TaskTarget.Run(Path.Combine(dir, "task.jsonl"), TaskOptions(input))),
        new FuzzFormat("parquet", () => SeedCorpus.Parquet.Value,
            (s, rng) => s.With("task.parquet", ParquetTaskMutator.Mutate(s.Files["task.parquet"], rng))
                         .With(TaskTarget.OptionsFile, Encoding.UTF8.GetBytes(TaskTarget.Options(rng))),
            (dir, input) => TaskTarget.Run(Path.Combine(dir, "task.parquet"), TaskOptions(input))),
    ];

    static string TaskOptions(FuzzInput input) =>
        input.Files.TryGetValue(TaskTarget.OptionsFile, out var b) ? Encoding.UTF8.GetString(b) : "auto Native 0";

    public static IFuzzFormat Get(string name) =>
        All.FirstOrDefault(f => f.Name == name) ?? throw new ArgumentException($"unknown format '{name}' ({string.Join(", ", All.Select(f => f.Name))})");
}
