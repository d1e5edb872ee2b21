using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sieve.Pop;

/// <summary>One row of pop-eval.json: a variant at a number of skipped layers, against dense.</summary>
public sealed record PopEvalRow(
    [property: JsonPropertyName("variant")] string Variant,
    [property: JsonPropertyName("skipped")] int Skipped,
    [property: JsonPropertyName("layers")] IReadOnlyList<int> Layers,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("perplexity")] double Perplexity,
    [property: JsonPropertyName("kl")] double Kl,
    [property: JsonPropertyName("kl_max")] double KlMax,
    [property: JsonPropertyName("greedy_agreement")] double GreedyAgreement,
    [property: JsonPropertyName("first_divergence")] int FirstDivergence,
    [property: JsonPropertyName("teacher_forced_agreement")] double TeacherForcedAgreement,
    [property: JsonPropertyName("acc")] double? Acc,
    [property: JsonPropertyName("acc_norm")] double? AccNorm,
    [property: JsonPropertyName("seconds")] double Seconds)
{
    public static PopEvalRow From(PopEvalResult r) => new(r.Case.Variant, r.Case.Skipped, r.Case.Layers, r.Case.Source,
        r.Perplexity, r.Kl, r.KlMax, r.GreedyAgreement, r.FirstDivergence, r.TeacherForcedAgreement, r.Acc, r.AccNorm, Math.Round(r.Seconds, 3));
}

public sealed record PopEvalSettings(
    [property: JsonPropertyName("prompt_len")] int PromptLength,
    [property: JsonPropertyName("decode_len")] int DecodeLength,
    [property: JsonPropertyName("windows")] int Windows,
    [property: JsonPropertyName("gen_tokens")] int GenTokens)
{
    [JsonPropertyName("kl")] public string KlMeaning => "KL(dense || variant) in nats per continuation row, mean over decode_len rows of every window; kl_max the largest row";
    [JsonPropertyName("perplexity")] public string PerplexityMeaning => "exp(mean NLL of the text's continuation tokens): prompt_len tokens ingested under the plan, decode_len teacher-forced at decode depth";
    [JsonPropertyName("greedy")] public string GreedyMeaning => "gen_tokens greedy tokens after the first window's prompt, dense and variant each free-running; greedy_agreement = share of equal positions, first_divergence = first unequal one; teacher_forced_agreement = share of dense's tokens that are the variant's argmax when it reads them";
}

/// <summary>
/// pop-eval.json, what <c>sieve pop eval</c> writes: per number of skipped layers, POP ("pop"), POP without the
/// boundary fix ("pop-none") and ShortGPT removal of the same layers ("shortgpt"), plus "dense" and any "plan" rows.
/// </summary>
public sealed record PopEvalReport(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("model_layers")] int ModelLayers,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("text_sha256")] string TextSha256,
    [property: JsonPropertyName("task")] string? Task,
    [property: JsonPropertyName("task_samples")] int TaskSamples,
    [property: JsonPropertyName("importance")] string? Importance,
    [property: JsonPropertyName("settings")] PopEvalSettings Settings,
    [property: JsonPropertyName("forward_calls")] long ForwardCalls,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("rows")] IReadOnlyList<PopEvalRow> Rows)
{
    public const string Kind = "sieve.pop.eval";

    [JsonPropertyName("kind")] public string FileKind { get; init; } = Kind;
    [JsonPropertyName("version")] public int Version { get; init; } = 1;

    static readonly JsonSerializerOptions Options = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    public string Write(string path)
    {
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is string dir) Directory.CreateDirectory(dir);
        File.WriteAllText(path, ToJson() + "\n");
        return path;
    }

    public static PopEvalReport Load(string path) =>
        JsonSerializer.Deserialize<PopEvalReport>(File.ReadAllText(path), Options) ?? throw new InvalidDataException($"{path}: not a pop eval file");
}
