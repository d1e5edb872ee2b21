// A console application that uses Sieve through its NuGet packages, as a product would: the engine directly,
// SieveChatClient as a Microsoft.Extensions.AI IChatClient (a reply, then a streamed reply), and the dependency-
// injection registration. Each result is printed on a line of its own ("reply: …", "stream: …", "di: …",
// "engine: …") so scripts/pack-sample.sh can check them.
// Usage: dotnet run -- [MODEL]   (default: models/stories260K/stories260K.gguf of the repository this sits in)
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Sieve;
using Sieve.Generation;
using Sieve.Serving;

string? modelPath = args.Length > 0 ? args[0] : FindRepositoryModel();
if (modelPath == null || !(File.Exists(modelPath) || Directory.Exists(modelPath)))
{
    Console.Error.WriteLine(modelPath == null
        ? "sample: no model given and models/stories260K/stories260K.gguf not found above the current or the program's folder; pass a model path"
        : $"sample: model '{modelPath}' not found");
    return 2;
}

// Two threads: a sample should not take every core of the machine it runs on.
var load = new SieveModelOptions { Threads = 2 };
// Greedy, so the reply and the streamed reply of the same prompt are the same text (the script checks that).
var options = new ChatOptions { MaxOutputTokens = 40, Temperature = 0 };
const string Prompt = "Tell me a story about a little cat.";

using var model = SieveModel.Load(modelPath, load);
Console.WriteLine($"model: {modelPath} ({model.Config.LayerCount} layers, vocabulary {model.Tokenizer.VocabSize})");
Console.WriteLine($"packages: Sieve {Version(typeof(SieveModel))}, Sieve.Serving {Version(typeof(SieveChatClient))}");

// 1. The engine alone: one greedy generation on this thread.
var generator = model.CreateGenerator();
var engineText = string.Concat(generator.Generate("Once upon a time", new GenerationOptions { MaxTokens = 24, Sampling = SamplingOptions.Greedy }).Select(t => t.Text));
Console.WriteLine($"engine: {OneLine(engineText)}");
Console.WriteLine($"engine stats: {generator.LastStats}");

// 2. IChatClient in process, over the model loaded above.
using (IChatClient client = new SieveChatClient(model, new ServerOptions { ModelId = "sample", Parallel = 2 }))
{
    ChatResponse reply = await client.GetResponseAsync(Prompt, options);
    Console.WriteLine($"reply: {OneLine(reply.Text)}");
    Console.WriteLine($"reply usage: {reply.Usage?.InputTokenCount} tokens in, {reply.Usage?.OutputTokenCount} out, finish {reply.FinishReason}");

    var streamed = new System.Text.StringBuilder();
    int updates = 0;
    await foreach (var update in client.GetStreamingResponseAsync(Prompt, options))
    {
        streamed.Append(update.Text);
        updates++;
    }
    Console.WriteLine($"stream: {OneLine(streamed.ToString())}");
    Console.WriteLine($"stream updates: {updates}");
}

// 3. Dependency injection: the container loads its own copy of the model on first use and disposes it.
var services = new ServiceCollection();
services.AddSieveChatClient(modelPath, configure: o => o with { Parallel = 2 }, load: load);
await using (var provider = services.BuildServiceProvider())
{
    var chat = provider.GetRequiredService<IChatClient>();
    var response = await chat.GetResponseAsync([new ChatMessage(ChatRole.System, "You tell short stories."), new ChatMessage(ChatRole.User, Prompt)], options);
    Console.WriteLine($"di: {OneLine(response.Text)}");
    Console.WriteLine($"di model: {chat.GetService<ChatClientMetadata>()?.DefaultModelId}");
}
return 0;

static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();

static string Version(Type t) =>
    t.Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
        .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "?";

// The repository's stories260K, looked for above the working folder and above the program's own folder.
static string? FindRepositoryModel()
{
    foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "models", "stories260K", "stories260K.gguf");
            if (File.Exists(candidate)) return candidate;
        }
    return null;
}
