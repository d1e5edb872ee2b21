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
        var output = new Argument<string>("output") { Description = "Destination .gguf file" };
        var type = new Option<string>("--type") { Description = "Weight type: f32, f16, q8_0, q4_0", DefaultValueFactory = _ => "f16" };
        var tokenizer = CommonOptions.Tokenizer();
        var cmd = new Command("convert", "Convert a checkpoint to GGUF, optionally quantizing it") { input, output, type, tokenizer };
        cmd.SetAction(r => CliErrors.Guard(() =>
        {
            var target = BenchCommand.ParseType(r.GetValue(type)!);
            if (target is not (GgmlType.F32 or GgmlType.F16 or GgmlType.Q8_0 or GgmlType.Q4_0))
                throw new ArgumentException($"convert writes f32, f16, q8_0 or q4_0, not {r.GetValue(type)}");
            string src = r.GetValue(input)!, dst = r.GetValue(output)!;
            using var m = SieveModel.Load(src, new SieveModelOptions { Threads = 1, TokenizerPath = r.GetValue(tokenizer), MaxBatch = 1 });
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
