using System.CommandLine;
using Sieve.Serving;

namespace Sieve.Cli.Commands;

/// <summary><c>sieve serve</c>: the OpenAI-compatible HTTP server, with continuous batching and prefix caching.</summary>
static class ServeCommand
{
    const int DefaultContext = 4096;

    public static Command Create()
    {
        var model = CommonOptions.Model();
        var threads = CommonOptions.Threads();
        var tokenizer = CommonOptions.Tokenizer();
        var host = new Option<string>("--host") { Description = "Address to listen on (default loopback; 0.0.0.0 answers the network)", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port (0: any free port, printed at start)", DefaultValueFactory = _ => 8080 }.AtLeast(0, "must be a port number, 0 to 65535");
        var parallel = new Option<int>("--parallel", "-np") { Description = "Sequences decoded together in one forward pass; more requests wait", DefaultValueFactory = _ => 4 }.AtLeast(1, "must be a whole number, 1 or more");
        var ctx = new Option<int>("--ctx-size", "-c") { Description = $"Positions each sequence holds, prompt and reply (default {DefaultContext}, within the model's; 0: the model's context)", DefaultValueFactory = _ => DefaultContext }
            .AtLeast(0, "must be a whole number, 0 (the model's context) or more");
        var apiKey = new Option<string?>("--api-key") { Description = "Require 'Authorization: Bearer KEY' (default: the SIEVE_API_KEY environment variable; none when unset)" };
        var modelId = new Option<string?>("--alias") { Description = "Model id clients send in \"model\" (default: the model file's name without extension)" };
        var template = new Option<string?>("--template") { Description = "Chat template family: chatml, llama3, llama2, mistral, gemma, phi3 (default: detected; ChatML when the checkpoint has none)" };
        var queue = new Option<int>("--max-queue") { Description = "Requests that may wait for a sequence; beyond it: 503 with Retry-After", DefaultValueFactory = _ => 256 }.AtLeast(0, "must be a whole number, 0 or more");
        var promptCache = new Option<int>("--prompt-cache") { Description = "Finished conversations kept for prefix reuse (default: as many as --parallel; 0: none)", DefaultValueFactory = _ => -1 }
            .AtLeastOrMinusOne(0, "must be a whole number, 0 or more");
        var kvBudget = new Option<int>("--kv-budget-mib") { Description = "KV memory all sequences may hold together, MiB (0: no limit)" }.AtLeast(0, "must be a whole number of MiB, 0 or more");
        var maxTokens = new Option<int>("--max-tokens-limit") { Description = "Largest max_tokens a request may ask (0: the context)" }.AtLeast(0, "must be a whole number, 0 or more");
        var maxBody = new Option<int>("--max-body-kib") { Description = "Largest request body, KiB", DefaultValueFactory = _ => 4096 }.AtLeast(1, "must be a whole number of KiB, 1 or more");
        var maxMessages = new Option<int>("--max-messages") { Description = "Messages one chat request may hold", DefaultValueFactory = _ => 1024 }.AtLeast(1, "must be a whole number, 1 or more");
        var kv = new KvArgs();
        var pop = new PopArgs();
        var sparsity = new SparsityArgs();
        var cmd = new Command("serve", "Serve the model over an OpenAI-compatible HTTP API (chat, completions, streaming) with a chat page at /")
            { model, threads, tokenizer, host, port, parallel, ctx, apiKey, modelId, template, queue, promptCache, kvBudget, maxTokens, maxBody, maxMessages };
        foreach (var o in kv.All) cmd.Options.Add(o);
        foreach (var o in pop.All) cmd.Options.Add(o);
        foreach (var o in sparsity.All) cmd.Options.Add(o);
        cmd.SetAction(r => CliErrors.Guard(() =>
        {
            if (r.GetValue(port) > 65535) throw new ArgumentException($"--port {r.GetValue(port)} is not a port number (0 to 65535)");
            string path = r.GetValue(model)!;
            using var m = SieveModel.Load(path, new SieveModelOptions { Threads = CommonOptions.ThreadCount(r, threads), TokenizerPath = r.GetValue(tokenizer) });
            StderrConsole.Load(m);
            string name = PopArgs.ModelName(path);
            var options = new ServerOptions
            {
                Host = r.GetValue(host)!,
                Port = r.GetValue(port),
                ModelId = r.GetValue(modelId) ?? Path.GetFileNameWithoutExtension(path.TrimEnd('/', '\\')),
                Parallel = r.GetValue(parallel),
                // Not the model's whole context by default: each sequence's dense F32 cache is allocated at its full size
                // when it starts (Llama 3.1 8B: 256 KiB a position, 32 GiB at 128K), so a server sized by default would
                // not start; 4096 is llama.cpp's default context too.
                Context = r.GetValue(ctx) == DefaultContext ? Math.Min(DefaultContext, m.Config.ContextLength) : CommonOptions.Context(r.GetValue(ctx), m.Config.ContextLength),
                ApiKey = r.GetValue(apiKey) ?? (Environment.GetEnvironmentVariable("SIEVE_API_KEY") is { Length: > 0 } env ? env : null),
                ChatTemplate = r.GetValue(template),
                MaxQueue = r.GetValue(queue),
                PromptCache = r.GetValue(promptCache),
                KvBudgetBytes = (long)r.GetValue(kvBudget) << 20,
                MaxTokensLimit = r.GetValue(maxTokens),
                MaxBodyBytes = (long)r.GetValue(maxBody) << 10,
                MaxMessages = r.GetValue(maxMessages),
                Cache = kv.Read(r),
                Pop = pop.Read(r, m.Config.LayerCount, name),
                Sparsity = sparsity.Read(r, m.Transformer, name),
            };
            return Run(m, options).GetAwaiter().GetResult();
        }));
        return cmd;
    }

    static async Task<int> Run(SieveModel m, ServerOptions options)
    {
        await using var server = SieveServer.Create(m, options);
        await server.StartAsync();
        var s = server.Served;
        Console.Error.WriteLine($"sieve serve: model '{options.ModelId}', template {s.Format.Family}, {options.Parallel} parallel, context {s.Context} per sequence"
            + (options.ApiKey != null ? ", API key required" : ""));
        foreach (var url in server.Urls) Console.Error.WriteLine($"sieve serve: listening on {url} (chat page at {url}/, OpenAI API at {url}/v1)");
        await server.WaitForShutdownAsync();
        return 0;
    }
}
