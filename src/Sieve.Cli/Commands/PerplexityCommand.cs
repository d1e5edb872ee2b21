using System.CommandLine;
using System.Text.Json;
using Sieve.Eval;
using Sieve.Models;
using Spectre.Console;

namespace Sieve.Cli.Commands;

/// <summary><c>sieve perplexity</c>: perplexity of a text through the decode path, with any KV cache, and its KL divergence from dense.</summary>
static class PerplexityCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var file = new Option<string>("--file", "-f") { Description = "Text file", Required = true };
        var ctx = CommonOptions.ContextSize("Tokens of the text to use (default, or 0: the model's context, at most 512)");
        var prefix = new Option<int>("--prefix") { Description = "Tokens prefilled before decoding starts (default, or 0: three quarters)" }.AtLeast(0);
        var klBase = new Option<string?>("--kl-base") { Description = "Dense log-probabilities saved by --save-kl-base (default: run dense in this process)" };
        var saveBase = new Option<string?>("--save-kl-base") { Description = "Write this run's log-probabilities as a KL base (use with --kv dense)" };
        var fidelity = new Option<bool>("--fidelity") { Description = "Also measure recall@K, attention mass and output cosine per layer against exact attention" };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var threads = CommonOptions.Threads();
        var tokenizer = CommonOptions.Tokenizer();
        var kv = new KvArgs();
        var pop = new PopArgs();
        var sparsity = new SparsityArgs();
        var cmd = new Command("perplexity", "Perplexity and KL divergence from dense of a KV-cache method, through the decode path")
            { model, file, ctx, prefix, klBase, saveBase, fidelity, json, threads, tokenizer };
        foreach (var o in kv.All) cmd.Options.Add(o);
        foreach (var o in pop.All) cmd.Options.Add(o);
        foreach (var o in sparsity.All) cmd.Options.Add(o);
        cmd.SetAction(r => CliErrors.Guard(() =>
        {
            using var m = SieveModel.Load(r.GetValue(model)!, new SieveModelOptions { Threads = CommonOptions.ThreadCount(r, threads), TokenizerPath = r.GetValue(tokenizer) });
            var runner = m.CreateRunner();
            var popPlan = pop.Read(r, m.Config.LayerCount, PopArgs.ModelName(r.GetValue(model)!));
            if (popPlan != null) Console.Error.WriteLine($"sieve: {popPlan}");
            var sparse = sparsity.Read(r, m.Transformer, PopArgs.ModelName(r.GetValue(model)!));
            var forward = SparsityArgs.Compose(popPlan?.Apply(), sparse);
            string path = r.GetValue(file)!;
            if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
            var all = m.Tokenizer.Encode(File.ReadAllText(path));
            int n = Math.Min(all.Length, r.GetValue(ctx) > 0 ? r.GetValue(ctx) : Math.Min(512, m.Config.ContextLength));
            if (n > m.Config.ContextLength) throw new ArgumentException($"--ctx-size {n} exceeds the model's context {m.Config.ContextLength}");
            if (n < 4) throw new ArgumentException($"{path}: {all.Length} tokens is too short to evaluate");
            var tokens = all[..n];
            int p = r.GetValue(prefix) > 0 ? r.GetValue(prefix) : n * 3 / 4;
            var spec = kv.Read(r);
            float[][]? baseRows = r.GetValue(klBase) is string b ? KvPerplexity.LoadBase(b, tokens, p, m.Config.VocabSize) : null;
            var result = KvPerplexity.Evaluate(runner, tokens, p, spec, baseRows, computeBase: r.GetValue(saveBase) == null, fidelity: r.GetValue(fidelity), options: forward);
            if (r.GetValue(saveBase) is string save)
            {
                var cache = runner.CreateCache(spec, n);
                using (cache as IDisposable) KvPerplexity.SaveBase(save, tokens, p, KvPerplexity.LogProbs(runner, tokens, p, cache, forward));
                Console.Error.WriteLine($"sieve: wrote the KL base to {save}");
            }
            Print(result, r.GetValue(json), popPlan, sparse);
            sparsity.Report(r, sparse);
            return 0;
        }));
        return cmd;
    }

    static void Print(KvPerplexityResult x, bool json, Sieve.Models.Pop.PopPlan? pop, Sieve.Sparsity.ActivationSparsity? sparse)
    {
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                kv = x.Method, pop = pop == null ? null : new { prefill_kv_only = pop.SkippedLayers, boundary = pop.Boundary.ToString().ToLowerInvariant() }, n_tokens = x.Tokens, prefix = x.Prefix, predictions = x.Predictions, ppl = x.Perplexity, base_ppl = x.BasePerplexity,
                kl_mean = x.MeanKl, kl_max = x.MaxKl, top1_agreement = x.Top1Agreement, kv_bytes = x.Memory.Bytes,
                kv_bytes_per_token_per_head = x.Memory.BytesPerTokenPerHead, seconds = x.Seconds, sparsity = SparsityArgs.Json(sparse),
                layers = x.Fidelity?.Select(l => new { layer = l.Layer, recall = Num(l.Recall), attention_mass = Num(l.Mass), cosine = Num(l.Cosine), attended_tokens = Num(l.AttendedTokens) }),
            }, new JsonSerializerOptions { WriteIndented = true }));
            return;
        }
        var t = new Table().AddColumns("kv", "tokens", "decoded", "PPL", "dense PPL", "mean KL", "top-1 agree", "B/token/head");
        t.AddRow(x.Method, x.Tokens.ToString(), x.Predictions.ToString(), $"{x.Perplexity:F4}", x.BasePerplexity is double bp ? $"{bp:F4}" : "–",
            x.MeanKl is double kl ? $"{kl:F5}" : "–", x.Top1Agreement is double a ? $"{a:P1}" : "–", $"{x.Memory.BytesPerTokenPerHead:F1}");
        AnsiConsole.Write(t);
        if (x.Fidelity is { } layers)
        {
            var f = new Table().AddColumns("layer", "recall@K", "attention mass", "output cosine", "attended tokens");
            foreach (var l in layers) f.AddRow(l.Layer.ToString(), $"{l.Recall:F3}", $"{l.Mass:F3}", $"{l.Cosine:F5}", $"{l.AttendedTokens:F1}");
            AnsiConsole.Write(f);
        }
    }

    static double? Num(double v) => double.IsNaN(v) ? null : v;
}
