using System.CommandLine;
using System.Text;
using Sieve.Generation;
using Sieve.Models;
using Sieve.Tokenization;

namespace Sieve.Cli.Commands;

/// <summary><c>sieve chat</c>: an interactive conversation through the model's chat template.</summary>
static class ChatCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var threads = CommonOptions.Threads();
        var tokenizer = CommonOptions.Tokenizer();
        var system = new Option<string?>("--system") { Description = "System prompt" };
        var template = new Option<string?>("--template") { Description = "Chat template family: chatml, llama3, llama2, mistral, gemma, phi3 (default: detected from the checkpoint)" };
        var n = new Option<int>("--n-predict", "-n") { Description = "Tokens per reply at most (-1: until end of turn or a full context)", DefaultValueFactory = _ => 512 }
            .AtLeastOrMinusOne(1, "must be a whole number, 1 or more, or -1 (until end of turn or a full context)");
        var ctx = CommonOptions.ContextSize("Context length the conversation must fit in; the oldest turns are dropped beyond it (default, or 0: the model's)");
        var sampling = new SamplingArgs();
        var kv = new KvArgs();
        var pop = new PopArgs();
        var sparsity = new SparsityArgs();
        var cmd = new Command("chat", "Chat with a model through its chat template (type /exit or end input to quit)") { model, threads, tokenizer, system, template, n, ctx };
        foreach (var o in sampling.All) cmd.Options.Add(o);
        foreach (var o in kv.All) cmd.Options.Add(o);
        foreach (var o in pop.All) cmd.Options.Add(o);
        foreach (var o in sparsity.All) cmd.Options.Add(o);
        cmd.SetAction(r => CliErrors.Guard(() =>
        {
            using var m = SieveModel.Load(r.GetValue(model)!, new SieveModelOptions { Threads = CommonOptions.ThreadCount(r, threads), TokenizerPath = r.GetValue(tokenizer) });
            StderrConsole.Load(m);
            var format = ChatFormat.For(m.Tokenizer, r.GetValue(template));
            var sparse = sparsity.Read(r, m.Transformer, PopArgs.ModelName(r.GetValue(model)!));
            var generator = m.CreateGenerator();
            var spec = kv.Read(r);
            if (spec.Method != "dense" || spec.Tier != null) generator.CacheFactory = capacity => generator.Runner.CreateCache(spec, capacity);
            int context = CommonOptions.Context(r.GetValue(ctx), m.Config.ContextLength);
            int maxTokens = r.GetValue(n) < 0 ? int.MaxValue : r.GetValue(n);
            var options = new GenerationOptions { MaxTokens = maxTokens, Sampling = sampling.Read(r), ContextLength = context };
            // Room kept for a reply when old turns are dropped: the whole -n, but at most half the context so that
            // a long -n does not leave only the newest turn.
            var history = new ChatHistory(messages => m.Tokenizer.Encode(format.Render(messages, addGenerationPrompt: true), parseSpecial: true),
                context, Math.Clamp(maxTokens, 1, Math.Max(1, context / 2)));
            if (r.GetValue(system) is { Length: > 0 } s) history.AddSystem(s);
            // One sequence for the whole conversation: each turn prefills only what its prompt does not share with
            // the cached one (the new user message and template markers), as llama-server's slots reuse their cache.
            using var sequence = generator.CreateSequence(context, SparsityArgs.Compose(pop.Forward(r, m.Config.LayerCount, PopArgs.ModelName(r.GetValue(model)!)), sparse));
            bool interactive = !Console.IsInputRedirected;
            string seed = sampling.RandomSeed is { } rs ? $", random seed {rs}" : "";
            Console.Error.WriteLine($"sieve chat: {Path.GetFileName(m.Checkpoint.Path.TrimEnd('/'))}, template {format.Family}{seed}; /exit to quit");
            while (true)
            {
                if (interactive) Console.Error.Write("> ");
                var line = Console.ReadLine();
                if (line == null || line.Trim() is "/exit" or "/quit") break;
                if (line.Trim().Length == 0) continue;
                var turn = history.AddUser(line);
                if (turn.Notice != null) Console.Error.WriteLine(turn.Notice);
                if (turn.Prompt is not { } prompt) continue;
                var reply = new StringBuilder();
                foreach (var token in generator.Generate(sequence, prompt, options))
                {
                    Console.Write(token.Text);
                    reply.Append(token.Text);
                }
                Console.WriteLine();
                history.AddReply(reply.ToString().Trim());
                if (interactive) Console.Error.WriteLine($"[{generator.LastStats}]");
            }
            sparsity.Report(r, sparse);
            return 0;
        }));
        return cmd;
    }
}
