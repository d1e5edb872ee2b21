using System.CommandLine;
using Sieve.Threading;

namespace Sieve.Cli.Commands;

/// <summary>Options several commands share, spelled as llama.cpp spells them.</summary>
static class CommonOptions
{
    public static Option<string> Model() => new("--model", "-m") { Description = "Model: a .gguf file, a Hugging Face folder, or a llama2.c .bin", Required = true };

    public static Option<int> Threads() => new Option<int>("--threads", "-t")
    {
        Description = "Threads (default: physical cores; never more than the CPUs this process may use)",
        DefaultValueFactory = _ => WorkerPool.DefaultThreadCount,
    }.AtLeast(1, "must be a whole number, 1 or more");

    /// <summary>
    /// -t as the pool will run it: never more threads than CPUs the process may use (affinity, cgroup quota), with a
    /// note when that cuts the request. Oversubscribed spinning threads turned 0.4 s into minutes (issue 8).
    /// </summary>
    public static int ThreadCount(ParseResult r, Option<int> threads)
    {
        int requested = r.GetValue(threads), available = WorkerPool.AvailableProcessors;
        if (requested <= available) return requested;
        Console.Error.WriteLine($"sieve: -t {requested} is more than the {available} CPUs this process may use; using {available}");
        return available;
    }

    /// <summary>llama.cpp's -c: positions the KV cache holds; 0 (the default) takes the model's context length.</summary>
    public static Option<int> ContextSize(string description = "Context length (default, or 0: the model's)") =>
        new Option<int>("--ctx-size", "-c") { Description = description }.AtLeast(0, "must be a whole number, 0 (the model's context) or more");

    /// <summary>
    /// The context a generation gets from -c: the model's when 0, and never more than the model's (its RoPE and
    /// trained positions end there), with a notice when the request was cut.
    /// </summary>
    public static int Context(int requested, int modelContext)
    {
        if (requested <= 0) return modelContext;
        if (requested > modelContext)
            Console.Error.WriteLine($"notice: -c {requested} is more than the model's context of {modelContext} tokens; using {modelContext}");
        return Math.Min(requested, modelContext);
    }

    public static Option<string?> Tokenizer() => new("--tokenizer") { Description = "Tokenizer file for llama2.c checkpoints (default: tokenizer.bin or tok*.bin beside the model)" };

    public static Option<string> Render() => new("--render")
    {
        Description = RenderHelp + " auto (default): lettered where the read-out needs one answer position (always for prune; for analyze only WinoGrande), native otherwise.",
        DefaultValueFactory = _ => "auto",
    };

    /// <summary>What each --render value does, and which rendering each layout gets natively.</summary>
    public const string RenderHelp = "Prompts: native = the harness's template for the layout (generic and MMLU: lettered A/B/C… options scored by the letter; "
        + "ARC, HellaSwag, PIQA, BoolQ, OpenBookQA, SciQ: each choice scored as the continuation; WinoGrande: each option filled into the sentence); "
        + "lettered = every layout as MMLU-style lettered options; cloze = each choice scored as the continuation of the question "
        + "(generic and MMLU become the bare question, as the harness's default multiple_choice task; other layouts as native).";

    /// <summary>
    /// auto: lettered when the read-out needs it — for pruning always (so its acc is the harness's acc on the lettered
    /// prompt), for the probe only for multiple-input tasks (WinoGrande) that have no single answer position.
    /// </summary>
    public static Eval.Tasks.McqRendering ParseRender(string value, string taskPath, string format, bool letteredByDefault)
    {
        switch (value)
        {
            case "native": return Eval.Tasks.McqRendering.Native;
            case "lettered": return Eval.Tasks.McqRendering.Lettered;
            case "cloze": return Eval.Tasks.McqRendering.Cloze;
            case "auto":
                if (letteredByDefault) return Eval.Tasks.McqRendering.Lettered;
                var probe = Eval.Tasks.McqTask.Load(taskPath, format, 1);
                return probe[0].IsMultipleInput ? Eval.Tasks.McqRendering.Lettered : Eval.Tasks.McqRendering.Native;
            default: throw new ArgumentException($"--render: '{value}' is not native, lettered, cloze or auto");
        }
    }
}
