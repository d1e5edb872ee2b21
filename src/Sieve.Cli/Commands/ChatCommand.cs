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
        var n = new Option<int>("--n-predict", "-n") { Description = "Tokens per reply at most", DefaultValueFactory = _ => 512 };
        var sampling = new SamplingArgs();
        var kv = new KvArgs();
        var cmd = new Command("chat", "Chat with a model through its chat template (type /exit or end input to quit)") { model, threads, tokenizer, system, template, n };
        foreach (var o in sampling.All) cmd.Options.Add(o);
        foreach (var o in kv.All) cmd.Options.Add(o);
        cmd.SetAction(r => CliErrors.Guard(() =>
        {
            using var m = SieveModel.Load(r.GetValue(model)!, new SieveModelOptions { Threads = r.GetValue(threads), TokenizerPath = r.GetValue(tokenizer) });
            StderrConsole.Load(m);
            var format = ChatFormat.For(m.Tokenizer, r.GetValue(template));
            var generator = m.CreateGenerator();
            var spec = kv.Read(r);
            if (spec.Method != "dense") generator.CacheFactory = capacity => m.Transformer.CreateCache(spec, capacity);
            var options = new GenerationOptions { MaxTokens = Math.Max(1, r.GetValue(n)), Sampling = sampling.Read(r) };
            var messages = new List<ChatMessage>();
            if (r.GetValue(system) is { Length: > 0 } s) messages.Add(ChatMessage.System(s));
            bool interactive = !Console.IsInputRedirected;
            Console.Error.WriteLine($"sieve chat: {Path.GetFileName(m.Checkpoint.Path.TrimEnd('/'))}, template {format.Family}; /exit to quit");
            while (true)
            {
                if (interactive) Console.Error.Write("> ");
                var line = Console.ReadLine();
                if (line == null || line.Trim() is "/exit" or "/quit") break;
                if (line.Trim().Length == 0) continue;
                messages.Add(ChatMessage.User(line));
                var prompt = m.Tokenizer.Encode(format.Render(messages, addGenerationPrompt: true), parseSpecial: true);
                var reply = new StringBuilder();
                foreach (var token in generator.Generate(prompt, options))
                {
                    Console.Write(token.Text);
                    reply.Append(token.Text);
                }
                Console.WriteLine();
                messages.Add(ChatMessage.Assistant(reply.ToString().Trim()));
                if (interactive) Console.Error.WriteLine($"[{generator.LastStats}]");
            }
            return 0;
        }));
        return cmd;
    }
}
