using System.Text.RegularExpressions;
using Sieve.Cache;
using Sieve.Eval.LongContext;
using Sieve.Models;

namespace Sieve.Tests.Eval;

public class LongContextTests
{
    [Theory]
    [InlineData(512)]
    [InlineData(1536)]
    public void TasksFillTheTargetContextAndHideTheirAnswers(int context)
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        foreach (var task in LongContextTasks.Names)
        {
            var samples = LongContextTasks.Generate(task, m.Tokenizer, context, 2, seed: 42);
            Assert.Equal(2, samples.Count);
            Assert.NotEqual(samples[0].Prompt, samples[1].Prompt);
            Assert.Equal(samples[0].Prompt, LongContextTasks.Generate(task, m.Tokenizer, context, 1, seed: 42)[0].Prompt);   // seeded
            foreach (var s in samples)
            {
                int tokens = m.Tokenizer.Encode(s.Prompt).Length + s.TokensToGenerate;
                Assert.True(tokens <= context, $"{task}: {tokens} > {context}");
                if (context > 1000) Assert.True(tokens > context * 0.85, $"{task}: only {tokens} of {context} tokens used");
                switch (task)
                {
                    case "passkey":
                        Assert.Contains($"The pass key is {s.Answers[0]}. Remember it. {s.Answers[0]} is the pass key.", s.Context);
                        Assert.EndsWith("What is the pass key? The pass key is", s.Question);
                        break;
                    case "vt":
                        Assert.Equal(5, s.Answers.Count);
                        var value = Regex.Match(s.Context, $@"VAR {s.Answers[0]} = (\d+)").Groups[1].Value;
                        for (int i = 1; i < 5; i++) Assert.Contains($"VAR {s.Answers[i]} = VAR {s.Answers[i - 1]} ", s.Context);
                        Assert.Contains($"assigned the value {value} in the text above", s.Question);
                        break;
                    case "fwe":
                        // The answers are the 2nd–4th most frequent words (the 1st is the "..." noise).
                        var counts = s.Context.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(20)
                            .GroupBy(w => w).OrderByDescending(g => g.Count()).Select(g => g.Key).ToList();
                        Assert.Equal("...", counts[0]);
                        Assert.Equal(s.Answers, counts.Skip(1).Take(3));
                        break;
                    default:
                        // One needle for the queried key, which only the question names; its value is the answer.
                        var key = Regex.Match(s.Question, @"for (\S+) mentioned").Groups[1].Value;
                        Assert.Single(Regex.Matches(s.Context, $"for {Regex.Escape(key)} is: "));
                        Assert.Contains($"for {key} is: {s.Answers[0]}.", s.Context);
                        if (task == "niah_multikey_3") Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", s.Answers[0]);
                        else Assert.Matches("^[1-9][0-9]{6}$", s.Answers[0]);
                        break;
                }
            }
        }
    }

    [Fact]
    public void ScoresAreRulersStringMatchAllAndThePasskeysFirstInteger()
    {
        var niah = new LongContextSample("niah", 0, "", "", ["1234567", "abc-def"], 10, LongContextScoring.MatchAll);
        Assert.Equal(1.0, niah.Score("the numbers are 1234567 and ABC-DEF."));
        Assert.Equal(0.5, niah.Score("1234567"));
        Assert.Equal(0.0, niah.Score("nothing"));
        var passkey = new LongContextSample("passkey", 0, "", "", ["4321"], 10, LongContextScoring.FirstInteger);
        Assert.Equal(1.0, passkey.Score(" 4321. The grass"));
        Assert.Equal(0.0, passkey.Score(" 12 then 4321"));
    }

    /// <summary>Counts what reaches the cache in each stage.</summary>
    sealed class CountingCache(IKvCache inner) : IKvCache
    {
        public int PrefillRows, DecodeRows, DecodeAttends;
        public int Length => inner.Length;
        public int Capacity => inner.Capacity;
        public KvMemory Memory => inner.Memory;
        public void Truncate(int length) => inner.Truncate(length);
        public void Append(int layer, ForwardStage stage, int startPos, int count, ReadOnlySpan<float> k, ReadOnlySpan<float> v)
        {
            if (layer == 0) { if (stage == ForwardStage.Prefill) PrefillRows += count; else DecodeRows += count; }
            inner.Append(layer, stage, startPos, count, k, v);
        }
        public void Attend(int layer, ForwardStage stage, int startPos, int count, ReadOnlySpan<float> q, Span<float> output)
        {
            if (layer == 0 && stage == ForwardStage.Decode) DecodeAttends += count;
            inner.Attend(layer, stage, startPos, count, q, output);
        }
    }

    [Fact]
    public void TheQuestionGoesThroughTheDecodePath()
    {
        using var m = SieveModel.Load(Fixtures.Stories260KGguf);
        var sample = LongContextTasks.Generate("niah_single_1", m.Tokenizer, 512, 1)[0];
        var spec = KvCacheSpec.Parse("selfindex", "25%");
        CountingCache? seen = null;
        var result = LongContextRunner.Run(m.Runner(), m.Tokenizer, [sample], spec, 512,
            capacity => seen = new CountingCache(m.Runner().CreateCache(spec, capacity)));
        var output = result.Outputs.Single();
        Assert.True(output.QuestionTokens > 20, "the question and answer prefix are decoded token by token");
        Assert.Equal(m.Tokenizer.Encode(sample.Prompt).Length, output.PromptTokens);
        Assert.InRange(result.Score, 0, 100);
        Assert.True(result.KvBytes > 0);
        // At the cache: the context was prefilled; every question token, then every generated token but the last, was a decode step.
        Assert.Equal(output.PromptTokens - output.QuestionTokens, seen!.PrefillRows);
        Assert.InRange(seen.DecodeAttends, output.QuestionTokens, output.QuestionTokens + sample.TokensToGenerate);
        Assert.Equal(seen.DecodeRows, seen.DecodeAttends);
    }
}
