using System.CommandLine;
using Sieve.Threading;

namespace Sieve.Cli.Commands;

/// <summary>Options several commands share, spelled as llama.cpp spells them.</summary>
static class CommonOptions
{
    public static Option<string> Model() => new("--model", "-m") { Description = "Model: a .gguf file, a Hugging Face folder, or a llama2.c .bin", Required = true };

    public static Option<int> Threads() => new("--threads", "-t")
    {
        Description = "Threads (default: physical cores)",
        DefaultValueFactory = _ => WorkerPool.DefaultThreadCount,
    };

    public static Option<string?> Tokenizer() => new("--tokenizer") { Description = "Tokenizer file for llama2.c checkpoints (default: tokenizer.bin or tok*.bin beside the model)" };
}
