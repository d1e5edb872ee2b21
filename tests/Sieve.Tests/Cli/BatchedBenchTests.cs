using System.Text.Json;
using Sieve.Cache;
using Sieve.Cli.Commands;
using Sieve.Models;

namespace Sieve.Tests.Cli;

/// <summary>
/// <c>sieve bench --batch</c>: llama-batched-bench's table and records, the rows each step really carries, and
/// bad values ending as one line naming the option. Counts only; no speed is asserted.
/// </summary>
public class BatchedBenchTests
{
    const string Model = "models/stories260K/stories260K.gguf";

    [Fact]
    public void JsonHasOneRecordPerBatchWithNParallelAndConsistentCounts()
    {
        var r = CliRunner.Run(["bench", "--shape", "stories260k", "--batch", "1,2", "-p", "8", "-n", "4", "-r", "2", "-t", "1", "--json"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var records = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal(2, records.GetArrayLength());
        for (int i = 0; i < 2; i++)
        {
            var x = records[i];
            int b = i + 1;
            Assert.Equal(b, x.GetProperty("n_parallel").GetInt32());
            Assert.Equal(8, x.GetProperty("n_prompt").GetInt32());
            Assert.Equal(4, x.GetProperty("n_gen").GetInt32());
            Assert.Equal(1, x.GetProperty("n_threads").GetInt32());
            Assert.Equal(b * (8 + 4), x.GetProperty("n_kv").GetInt64());
            Assert.Equal(1, x.GetProperty("prefill_steps").GetInt32());   // B × 8 rows fit one step of 512
            Assert.Equal(2, x.GetProperty("samples_tg").GetArrayLength());
            Assert.Equal(2, x.GetProperty("samples_pp").GetArrayLength());
            double tg = x.GetProperty("t_tg").GetDouble(), speedTg = x.GetProperty("speed_tg").GetDouble();
            Assert.True(tg > 0 && speedTg > 0, x.ToString());
            // The aggregate is B × TG over the time; the mean of per-repetition speeds is at least B × TG / mean time.
            Assert.True(speedTg >= b * 4 / tg * (1 - 1e-9), x.ToString());
            Assert.Equal(x.GetProperty("samples_tg").EnumerateArray().Average(e => e.GetDouble()), speedTg, 6);
            Assert.Equal(tg * 1000 / 4, x.GetProperty("ms_per_step").GetDouble(), 6);
            Assert.Equal(x.GetProperty("t_pp").GetDouble() + tg, x.GetProperty("t").GetDouble(), 9);
        }
        // Dense caches of p + n positions each: two sequences hold twice the bytes of one.
        Assert.Equal(2 * records[0].GetProperty("kv_bytes").GetInt64(), records[1].GetProperty("kv_bytes").GetInt64());
    }

    [Fact]
    public void TableHasLlamaBatchedBenchColumnsAndARowPerBatch()
    {
        var r = CliRunner.Run(["bench", "-m", Model, "--batch", "1,2", "-p", "8", "-n", "8", "-r", "1", "-t", "1"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var header = Assert.Single(lines, l => l.StartsWith("|") && l.Contains("N_KV"));
        string[] columns = Cells(header);
        Assert.Equal(["PP", "TG", "B", "N_KV", "T_PP s", "S_PP t/s", "T_TG s", "S_TG t/s", "T s", "S t/s"], columns[..10]);
        Assert.Contains("ms/step", columns);
        var rows = lines.Where(l => l.StartsWith("|") && char.IsDigit(Cells(l)[0][0])).Select(Cells).ToList();
        Assert.Equal(2, rows.Count);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(["8", "8", (i + 1).ToString(), (16 * (i + 1)).ToString()], rows[i][..4]);
            Assert.True(double.Parse(rows[i][7], System.Globalization.CultureInfo.InvariantCulture) > 0);   // S_TG t/s
        }
        Assert.Contains("threads 1", r.Stdout);
        Assert.Contains("peak resident", r.Stderr);
    }

    static string[] Cells(string line) => line.Trim('|').Split('|').Select(c => c.Trim()).ToArray();

    [Fact]
    public void StepsCarryEveryPromptRowOnceAndDecodeStepsCarryOneRowPerSequence()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf, new SieveModelOptions { Threads = 1 });
        // 8 rows a step: 3 prompts of 5 tokens (15 rows) need 2 prefill steps, one prompt split across them.
        var runner = m.CreateRunner(8);
        var counter = new RowCounter();
        var t = BatchedBench.Measure(runner, KvCacheSpec.Parse("dense"), parallel: 3, prompt: 5, gen: 4, repetitions: 2, ForwardOptions.WithHooks(counter));
        Assert.Equal(2, t.PrefillSteps);
        Assert.Equal(3 * (5 + 4), t.NKv);
        Assert.Equal(2 * 3 * 5, counter.PrefillRows);           // every prompt token once per repetition
        Assert.Equal(2 * 3 * 4, counter.DecodeRows);            // one row per sequence per step
        Assert.Equal(2 * 3 * 4, counter.DecodeCalls);           // … each a one-row segment
        Assert.Equal(5 + 4 - 1, counter.LastPosition);          // each cache ends full: p + n positions
        // Step 1: prompt 0 whole, prompt 1 from 0 (3 rows); step 2: prompt 1 from 3, prompt 2 whole. Four segments a repetition.
        Assert.Equal([0, 0, 3, 0, 0, 0, 3, 0], counter.PrefillStarts);
        Assert.Equal(2, t.DecodeSeconds.Length);
        Assert.All(t.DecodeSpeeds, s => Assert.True(s > 0));

        // B must fit one decode step of the runner.
        var e = Assert.Throws<ArgumentException>(() => BatchedBench.Measure(runner, KvCacheSpec.Parse("dense"), 9, 2, 2, 1));
        Assert.Contains("--batch 9", e.Message);
    }

    /// <summary>Counts the rows at layer 0's input, by stage, and the positions they sit at.</summary>
    sealed class RowCounter : IForwardHook
    {
        public int PrefillRows, DecodeRows, DecodeCalls, LastPosition = -1;
        public List<int> PrefillStarts { get; } = [];

        public bool Wants(ActivationSite site, int layer) => site == ActivationSite.LayerInput && layer == 0;

        public void OnActivation(ActivationSite site, int layer, ForwardStage stage, int startPos, int count, int width, Span<float> values)
        {
            if (stage == ForwardStage.Prefill) { PrefillRows += count; PrefillStarts.Add(startPos); }
            else { DecodeRows += count; DecodeCalls++; }
            LastPosition = Math.Max(LastPosition, startPos + count - 1);
        }
    }

    public static IEnumerable<object[]> BadBatches() =>
    [
        ["0", "'0'"], ["x", "'x'"], ["1,x", "'x'"], ["-2", "'-2'"], ["5000", "'5000'"], ["1.5", "'1.5'"], ["", "sequence counts"],
    ];

    [Theory, MemberData(nameof(BadBatches))]
    public void BadBatchValueIsOneLineNamingTheOption(string value, string expected)
    {
        var r = CliRunner.Run(["bench", "--shape", "stories260k", "--batch", value, "-p", "4", "-n", "4", "-r", "1"]);
        Assert.Equal(1, r.ExitCode);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: --batch", line);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void PositionsBeyondTheContextAndDepthsAreClearErrors()
    {
        var ctx = CliRunner.Run(["bench", "-m", Model, "--batch", "2", "-p", "2000", "-n", "100", "-r", "1"]);
        Assert.Equal(1, ctx.ExitCode);
        var line = Assert.Single(ctx.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => !l.StartsWith("bench: "));
        Assert.Equal("error: -p 2000 -n 100: each sequence holds 2100 positions, more than the model's context of 2048", line);

        var depths = CliRunner.Run(["bench", "-m", Model, "--batch", "2", "-p", "8", "-n", "8", "-d", "16,32"]);
        Assert.Equal(1, depths.ExitCode);
        Assert.StartsWith("error: -d:", depths.Stderr);
        var deep = CliRunner.Run(["bench", "-m", Model, "--batch", "2", "-p", "8", "-n", "100", "-d", "2000", "-r", "1"]);
        Assert.Equal(1, deep.ExitCode);
        Assert.Contains("error: -d 2000 -p 8 -n 100: each sequence holds 2108 positions", deep.Stderr);
    }

    [Theory]
    [InlineData("quest")]
    [InlineData("dense")]
    public void ADepthIsFilledOnceAndCopiedIntoEverySequence(string kv)
    {
        // llama-bench's -d with llama-batched-bench's B: every sequence holds 64 positions before its 4 prompt tokens.
        var run = CliRunner.Run(["bench", "-m", Model, "--batch", "1,3", "-d", "64", "-p", "4", "-n", "4", "-r", "1", "--kv", kv, "--budget", "16", "--json"]);
        Assert.True(run.ExitCode == 0, run.Stderr);
        using var doc = System.Text.Json.JsonDocument.Parse(run.Stdout);
        Assert.Equal(2, doc.RootElement.GetArrayLength());
        foreach (var rec in doc.RootElement.EnumerateArray())
        {
            Assert.Equal(64, rec.GetProperty("n_depth").GetInt32());
            int b = rec.GetProperty("n_parallel").GetInt32();
            Assert.Equal(b * (64 + 4 + 4), rec.GetProperty("n_kv").GetInt32());
            Assert.True(rec.GetProperty("speed_tg").GetDouble() > 0);
        }
    }
}
