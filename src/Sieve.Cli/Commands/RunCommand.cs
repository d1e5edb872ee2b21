using System.CommandLine;
using Sieve.Generation;
using Sieve.Models;

namespace Sieve.Cli.Commands;

/// <summary><c>sieve run</c>: the continuation of a prompt on stdout, timings on stderr.</summary>
static class RunCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var prompt = new Option<string>("--prompt", "-p") { Description = "Prompt text", DefaultValueFactory = _ => "" };
        var n = new Option<int>("--n-predict", "-n") { Description = "Tokens to generate (-1: until end of text or a full context)", DefaultValueFactory = _ => 128 }
            .AtLeastOrMinusOne(0, "must be a whole number, 0 or more, or -1 (until end of text or a full context)");
        var threads = CommonOptions.Threads();
        var tokenizer = CommonOptions.Tokenizer();
        var stop = new Option<string[]>("--stop") { Description = "Stop before this string (repeatable)", AllowMultipleArgumentsPerToken = false }
            .NoneEmpty("an empty stop string would match before every token");
        var ctx = CommonOptions.ContextSize();
        var ignoreEos = new Option<bool>("--ignore-eos") { Description = "Keep generating past end-of-sequence tokens" };
        var sampling = new SamplingArgs();
        var kv = new KvArgs();
        var pop = new PopArgs();
        var sparsity = new SparsityArgs();
        var cmd = new Command("run", "Generate a continuation of a prompt") { model, prompt, n, threads, tokenizer, stop, ctx, ignoreEos };
        foreach (var o in sampling.All) cmd.Options.Add(o);
        foreach (var o in kv.All) cmd.Options.Add(o);
        foreach (var o in pop.All) cmd.Options.Add(o);
        foreach (var o in sparsity.All) cmd.Options.Add(o);
        cmd.SetAction(r => CliErrors.Guard(() =>
        {
            using var m = SieveModel.Load(r.GetValue(model)!, new SieveModelOptions { Threads = CommonOptions.ThreadCount(r, threads), TokenizerPath = r.GetValue(tokenizer) });
            StderrConsole.Load(m);
            var sparse = sparsity.Read(r, m.Transformer, PopArgs.ModelName(r.GetValue(model)!));
            var generator = m.CreateGenerator();
            var spec = kv.Read(r);
            if (spec.Method != "dense" || spec.Tier != null) generator.CacheFactory = capacity => generator.Runner.CreateCache(spec, capacity);
            var options = new GenerationOptions
            {
                MaxTokens = r.GetValue(n) < 0 ? int.MaxValue : r.GetValue(n),
                Sampling = sampling.Read(r),
                StopStrings = r.GetValue(stop) ?? [],
                ContextLength = CommonOptions.Context(r.GetValue(ctx), m.Config.ContextLength),
                StopAtEndOfGeneration = !r.GetValue(ignoreEos),
                Forward = SparsityArgs.Compose(pop.Forward(r, m.Config.LayerCount, PopArgs.ModelName(r.GetValue(model)!)), sparse),
            };
            var stdout = Console.OpenStandardOutput();
            foreach (var token in generator.Generate(r.GetValue(prompt)!, options))
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes(token.Text);
                stdout.Write(bytes);
                stdout.Flush();
            }
            stdout.Write("\n"u8);
            stdout.Flush();
            string seed = sampling.RandomSeed is { } rs ? $"; random seed {rs} (--seed {rs} repeats this run)" : "";
            Console.Error.WriteLine($"sieve: {generator.LastStats}; {m.Pool.ThreadCount} threads{seed}");
            sparsity.Report(r, sparse);
            return 0;
        }));
        return cmd;
    }
}
