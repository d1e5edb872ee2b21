using System.CommandLine;
using Sieve.Models;
using Sieve.Tensors;
using Spectre.Console;

namespace Sieve.Cli.Commands;

/// <summary>
/// <c>sieve info</c>: what a checkpoint is, without running it. It loads the model as <c>run</c> does, so a file
/// <c>run</c> would refuse (a weight of a type no kernel multiplies, say) is refused here too, with the same one line.
/// </summary>
static class InfoCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var tokenizer = CommonOptions.Tokenizer();
        var cmd = new Command("info", "Show a model's architecture, shapes, types and tokenizer") { model, tokenizer };
        cmd.SetAction(r => CliErrors.Guard(() =>
        {
            using var m = SieveModel.Load(r.GetValue(model)!, new SieveModelOptions { Threads = 1, TokenizerPath = r.GetValue(tokenizer), MaxBatch = 1 });
            var c = m.Config;
            var w = m.Checkpoint.Weights;
            var tensors = w.Layers.SelectMany(l => new[] { l.Wq, l.Wk, l.Wv, l.Wo, l.Gate, l.Up, l.Down })
                .Append(w.TokenEmbedding).Append(w.Output).Distinct().ToList();
            long parameters = tensors.Sum(t => (long)t.Rows * t.Cols)
                + w.Layers.Sum(l => (long)l.AttnNorm.Length + l.FfnNorm.Length + (l.Bq?.Length ?? 0) + (l.Bk?.Length ?? 0) + (l.Bv?.Length ?? 0))
                + w.OutputNorm.Length;
            var types = string.Join(", ", tensors.GroupBy(t => t.Type).Select(g => $"{TypeTraits.Of(g.Key).Name} ×{g.Count()}"));
            var tok = m.Tokenizer;
            var table = new Table().AddColumns("property", "value").HideHeaders();
            void Row(string k, object v) => table.AddRow(Markup.Escape(k), Markup.Escape(v.ToString() ?? ""));
            Row("file", m.Checkpoint.Path);
            Row("format", m.Checkpoint.Format);
            Row("file size", $"{m.Checkpoint.FileBytes:N0} bytes ({m.Checkpoint.FileBytes / 1048576.0:F1} MiB)");
            Row("architecture", c.Architecture);
            Row("parameters", $"{parameters:N0}");
            Row("embedding / layers", $"{c.Dim} / {c.LayerCount}");
            Row("heads / KV heads / head dim", $"{c.HeadCount} / {c.KvHeadCount} / {c.HeadDim}");
            Row("FFN", c.FfnDim);
            Row("vocabulary", c.VocabSize);
            Row("context length", c.ContextLength);
            Row("RoPE", $"theta {c.RopeTheta}, {c.RopeDim} dims, {c.RopeStyle}{(c.RopeScaling is { } s ? $", llama3 scaling ×{s.Factor}" : "")}");
            Row("norm eps", c.NormEps);
            Row("tied embeddings", ReferenceEquals(w.Output, w.TokenEmbedding) || c.TiedEmbeddings);
            Row("extras", string.Join(", ", new[] { c.QkvBias ? "QKV bias" : null, c.QkNorm ? "QK norm" : null,
                c.EmbeddingScale != 1 ? $"embedding × {c.EmbeddingScale:G5}" : null,
                c.AttnLogitSoftcap > 0 ? $"attention soft-cap {c.AttnLogitSoftcap:G}" : null,
                c.FinalLogitSoftcap > 0 ? $"final soft-cap {c.FinalLogitSoftcap:G}" : null,
                c.QueryPreAttnScalar > 0 && c.QueryPreAttnScalar != c.HeadDim ? $"query scalar {c.QueryPreAttnScalar:G}" : null }.Where(x => x != null)) is { Length: > 0 } e ? e : "none");
            foreach (var (spec, layers) in LayerGroups(m.Transformer.Blocks))
                Row($"layers {layers}", spec);
            Row("weight types", types);
            Row("tokenizer", $"{tok.GetType().Name}, {tok.VocabSize} tokens, BOS {tok.BosId}, EOS {tok.EosId}, add BOS {tok.AddBos}");
            Row("chat template", tok.ChatTemplate == null ? "none" : $"{tok.ChatTemplate.Length} chars");
            AnsiConsole.Write(table);
            return 0;
        }));
        return cmd;
    }

    /// <summary>Layers with the same spec, as compact ranges: "0-4, 6-10" → "sliding 512, RoPE base 10000, …".</summary>
    internal static IEnumerable<(string Spec, string Layers)> LayerGroups(IReadOnlyList<BlockSpec> blocks) =>
        blocks.GroupBy(b => b.Describe()).Select(g => (g.Key, Sieve.Models.Pop.LayerList.Format(g.Select(b => b.Layer).ToList()).Replace(",", ", ")));
}
