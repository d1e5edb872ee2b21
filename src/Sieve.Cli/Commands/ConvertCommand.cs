using System.CommandLine;
using Sieve.Formats;
using Sieve.Formats.Conversion;
using Sieve.Models;
using Sieve.Tensors;
using Spectre.Console;

namespace Sieve.Cli.Commands;

/// <summary><c>sieve convert IN OUT.gguf --type T</c>: any supported checkpoint to GGUF.</summary>
static class ConvertCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("input") { Description = "Source: .gguf, Hugging Face folder or llama2.c .bin" };
        var output = new Argument<string>("output") { Description = "Destination .gguf file (never one of the files the conversion reads)" };
        var type = new Option<string>("--type") { Description = "Weight type: f32, f16, q8_0, q4_0", DefaultValueFactory = _ => "f16" };
        var tokenizer = CommonOptions.Tokenizer();
        var cmd = new Command("convert", "Convert a checkpoint to GGUF, optionally quantizing it") { input, output, type, tokenizer };
        cmd.SetAction(r => CliErrors.Guard(() =>
        {
            var target = BenchCommand.ParseType(r.GetValue(type)!);
            if (target is not (GgmlType.F32 or GgmlType.F16 or GgmlType.Q8_0 or GgmlType.Q4_0))
                throw new ArgumentException($"convert writes f32, f16, q8_0 or q4_0, not {r.GetValue(type)}");
            string src = r.GetValue(input)!, dst = r.GetValue(output)!;
            // Checked before the model loads (a refusal should not wait for a large file to map), and again by the
            // converter with the tokenizer the loader found beside the model.
            var given = new List<ConvertDestination.Source> { new(src, "source") };
            if (ConvertDestination.FolderOf(src) is { } folder) given.Add(new(folder, "source"));
            if (r.GetValue(tokenizer) is { } tok) given.Add(new(tok, "tokenizer"));
            ConvertDestination.Check(dst, given);
            using var m = SieveModel.Load(src, new SieveModelOptions { Threads = 1, TokenizerPath = r.GetValue(tokenizer), MaxBatch = 1 });
            ConvertDestination.Check(dst, [.. given, .. ConvertDestination.SourcesOf(m.Checkpoint)]);
            var notices = new List<string>();
            StderrConsole.Instance.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask($"{Path.GetFileName(dst)} ({TypeTraits.Of(target).Name})", maxValue: 1.0);
                    ModelConverter.ToGguf(m.Checkpoint, m.Tokenizer.ToGgufMetadata(), target, dst,
                        new Progress<double>(p => task.Value = p), notices.Add);
                    task.Value = 1.0;
                });
            foreach (var n in notices) Console.Error.WriteLine($"notice: {n}");
            Console.Error.WriteLine($"wrote {dst} ({new FileInfo(dst).Length:N0} bytes)");
            return 0;
        }));
        return cmd;
    }
}
