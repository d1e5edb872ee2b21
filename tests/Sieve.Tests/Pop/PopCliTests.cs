using System.Text.Json;
using Sieve.Tests.Cli;

namespace Sieve.Tests.Pop;

/// <summary>The POP options through the real CLI: plans from counts, lists, importance and files; bad input as one line and exit 1.</summary>
public class PopCliTests
{
    static readonly string Model = Path.GetRelativePath(Fixtures.RepoRoot, Fixtures.Stories260KGguf);
    const string Task = "models/stories260K/tasks/story-questions.jsonl";
    const string Text = "tests/fixtures/stories260K-sample/story.txt";

    static string File(string dir, string name, string text)
    {
        var path = Path.Combine(dir, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void BadPlansAreRefusedWithOneLineOnEveryCommand()
    {
        var dir = Fixtures.TempDir();
        try
        {
            string empty = File(dir, "empty.json", "");
            string broken = File(dir, "broken.json", "{\"format\": \"sieve-pop-plan\", ");
            string outside = File(dir, "outside.json", "{\"format\": \"sieve-pop-plan\", \"version\": 1, \"layer_count\": 5, \"prefill_kv_only\": [3, 7]}");
            string otherModel = File(dir, "other.json", "{\"format\": \"sieve-pop-plan\", \"version\": 1, \"layer_count\": 32, \"prefill_kv_only\": [20]}");
            string badImportance = File(dir, "imp.json", "{\"layers\": [{\"layer\": 0, \"decode\": 1}]}");
            string[] run = ["run", "-m", Model, "-p", "Once", "-n", "4"];
            CliRunner.AssertRefused(CliRunner.Run([.. run, "--pop", "5"]), "--pop 5: the model has 5 layers");
            CliRunner.AssertRefused(CliRunner.Run([.. run, "--pop-layers", "3-9"]), "layer 9 is outside the model's layers 0..4");
            CliRunner.AssertRefused(CliRunner.Run([.. run, "--pop-layers", "x"]), "'x' is not a layer number");
            CliRunner.AssertRefused(CliRunner.Run([.. run, "--pop-plan", empty]), "the file is empty");
            CliRunner.AssertRefused(CliRunner.Run([.. run, "--pop-plan", broken]), "not valid JSON");
            CliRunner.AssertRefused(CliRunner.Run([.. run, "--pop-plan", outside]), "layer 7 is outside the model's layers 0..4");
            CliRunner.AssertRefused(CliRunner.Run([.. run, "--pop-plan", otherModel]), "made for a model of 32 layers; this model has 5");
            CliRunner.AssertRefused(CliRunner.Run([.. run, "--pop", "2", "--pop-importance", badImportance]), "has no \"prefill\" importance");
            CliRunner.AssertRefused(CliRunner.Run([.. run, "--pop", "2", "--pop-layers", "3"]), "at most one of --pop, --pop-layers and --pop-plan");
            CliRunner.AssertRefused(CliRunner.Run([.. run, "--pop", "2", "--pop-boundary", "half"]), "--pop-boundary: 'half' is not full or none");
            CliRunner.AssertRefused(CliRunner.Run(["perplexity", "-m", Model, "-f", Text, "--pop-plan", outside]), "layer 7 is outside");
            CliRunner.AssertRefused(CliRunner.Run(["eval", "mcq", "-m", Model, "--task", Task, "--pop", "9"]), "--pop 9: the model has 5 layers");
            CliRunner.AssertRefused(CliRunner.Run(["bench", "-m", Model, "-p", "8", "-n", "0", "-r", "1", "--pop-plan", empty]), "the file is empty");
            CliRunner.AssertRefused(CliRunner.Run(["eval", "longctx", "-m", Model, "--tasks", "passkey", "-n", "1", "-c", "200", "--pop-layers", "5"]), "layer 5 is outside");
            CliRunner.AssertRefused(CliRunner.Run(["chat", "-m", Model, "--pop", "5"], stdin: "hi\n"), "--pop 5");
            CliRunner.AssertRefused(CliRunner.Run(["pop", "plan", "-m", Model, "-o", Path.Combine(dir, "p.json"), "--pop", "5"]), "--pop 5");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void APlanFileFromImportanceRoundTripsAndRunsEveryCommand()
    {
        var dir = Fixtures.TempDir();
        try
        {
            // Layers 1 and 3 least important in prefill (layer 0 is never chosen, however low).
            string imp = File(dir, "imp.json", """{"layers": [{"layer": 0, "prefill": 0.0}, {"layer": 1, "prefill": {"taylor": 0.01}}, {"layer": 2, "prefill": 0.5}, {"layer": 3, "prefill": 0.02}, {"layer": 4, "prefill": 0.3}]}""");
            string plan = Path.Combine(dir, "plan.json");
            var made = CliRunner.Run(["pop", "plan", "-m", Model, "--pop", "2", "--pop-importance", imp, "-o", plan]);
            Assert.Equal(0, made.ExitCode);
            var json = JsonDocument.Parse(System.IO.File.ReadAllText(plan)).RootElement;
            Assert.Equal([1, 3], json.GetProperty("prefill_kv_only").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(5, json.GetProperty("layer_count").GetInt32());
            Assert.Equal("full", json.GetProperty("boundary").GetString());

            string[] run = ["run", "-m", Model, "-p", "Once upon a time", "-n", "24", "--temp", "0"];
            var fromFile = CliRunner.Run([.. run, "--pop-plan", plan]);
            var fromList = CliRunner.Run([.. run, "--pop-layers", "1,3"]);
            Assert.Equal(0, fromFile.ExitCode);
            Assert.Equal(fromList.Stdout, fromFile.Stdout);
            Assert.Contains("POP: layers 1,3 KvOnly in prefill (plan.json: lowest prefill importance (imp.json)), boundary full", fromFile.Stderr);

            var ppl = CliRunner.Run(["perplexity", "-m", Model, "-f", Text, "-c", "128", "--pop-plan", plan, "--json"]);
            Assert.Equal(0, ppl.ExitCode);
            var p = JsonDocument.Parse(ppl.Stdout).RootElement;
            Assert.True(p.GetProperty("kl_mean").GetDouble() > 0, "POP's KL from dense should be measured and above 0");
            Assert.Equal([1, 3], p.GetProperty("pop").GetProperty("prefill_kv_only").EnumerateArray().Select(e => e.GetInt32()));

            var mcq = CliRunner.Run(["eval", "mcq", "-m", Model, "--task", Task, "--pop-plan", plan, "--json"]);
            Assert.Equal(0, mcq.ExitCode);
            Assert.Equal(12, JsonDocument.Parse(mcq.Stdout).RootElement.GetProperty("n_samples").GetInt32());

            var bench = CliRunner.Run(["bench", "-m", Model, "-p", "16", "-n", "4", "-r", "1", "--pop", "2", "--json"]);
            Assert.Equal(0, bench.ExitCode);
            var rows = JsonDocument.Parse(bench.Stdout).RootElement.EnumerateArray().ToArray();
            Assert.Equal([3, 4], rows[0].GetProperty("pop_prefill_kv_only").EnumerateArray().Select(e => e.GetInt32()));
            Assert.False(rows[1].TryGetProperty("pop_prefill_kv_only", out _));   // tg runs every layer

            var longctx = CliRunner.Run(["eval", "longctx", "-m", Model, "--tasks", "passkey", "-n", "1", "-c", "200", "--pop", "1", "--json"]);
            Assert.Equal(0, longctx.ExitCode);
            var chat = CliRunner.Run(["chat", "-m", Model, "--pop", "2", "-n", "8"], stdin: "hello\nhow are you\n");
            Assert.Equal(0, chat.ExitCode);
        }
        finally { Directory.Delete(dir, true); }
    }
}
