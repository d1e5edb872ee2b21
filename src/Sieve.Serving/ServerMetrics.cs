using System.Diagnostics;
using System.Globalization;
using System.Text;
using Sieve.Generation;

namespace Sieve.Serving;

/// <summary>
/// What <c>GET /metrics</c> reports, in Prometheus' text format: request and token counters kept here, and the
/// scheduler's own state (queue, running sequences, KV bytes, prompt cache) read at scrape time. Rates (prefill
/// and decode tokens/s) are over the interval since the previous scrape, as a gauge, beside the counters a
/// Prometheus server would take rate() of itself.
/// </summary>
public sealed class ServerMetrics
{
    readonly Lock _lock = new();
    readonly Dictionary<(string Endpoint, int Status), long> _requests = [];
    long _promptTokens, _generatedTokens, _cancelled, _started;
    long _lastTicks = Stopwatch.GetTimestamp(), _lastPrefilled, _lastDecoded;
    double _prefillRate, _decodeRate;

    internal void Started(int promptTokens)
    {
        Interlocked.Increment(ref _started);
        Interlocked.Add(ref _promptTokens, promptTokens);
    }

    internal void Generated(int tokens) => Interlocked.Add(ref _generatedTokens, tokens);

    internal void Cancelled() => Interlocked.Increment(ref _cancelled);

    internal void Answered(string endpoint, int status)
    {
        lock (_lock) _requests[(endpoint, status)] = _requests.GetValueOrDefault((endpoint, status)) + 1;
    }

    public long CancelledRequests => Interlocked.Read(ref _cancelled);

    public string Render(SchedulerStats s)
    {
        var sb = new StringBuilder();
        lock (_lock)
        {
            long now = Stopwatch.GetTimestamp();
            double dt = (now - _lastTicks) / (double)Stopwatch.Frequency;
            if (dt >= 0.5)
            {
                _prefillRate = (s.PrefilledTokens - _lastPrefilled) / dt;
                _decodeRate = (s.DecodedTokens - _lastDecoded) / dt;
                _lastTicks = now; _lastPrefilled = s.PrefilledTokens; _lastDecoded = s.DecodedTokens;
            }
            Head(sb, "sieve_http_requests_total", "counter", "HTTP requests answered, by endpoint and status");
            foreach (var ((endpoint, status), n) in _requests.OrderBy(k => k.Key.Endpoint).ThenBy(k => k.Key.Status))
                sb.Append(CultureInfo.InvariantCulture, $"sieve_http_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {n}\n");
        }
        Metric(sb, "sieve_generations_started_total", "counter", "Generations queued (each choice of n counts)", Interlocked.Read(ref _started));
        Metric(sb, "sieve_generations_cancelled_total", "counter", "Generations ended early by a client that disconnected or cancelled", Interlocked.Read(ref _cancelled));
        Metric(sb, "sieve_prompt_tokens_total", "counter", "Prompt tokens of queued generations", Interlocked.Read(ref _promptTokens));
        Metric(sb, "sieve_generated_tokens_total", "counter", "Tokens generated and sent", Interlocked.Read(ref _generatedTokens));
        Metric(sb, "sieve_prefill_tokens_total", "counter", "Prompt tokens run through the model (not counting cached prefixes)", s.PrefilledTokens);
        Metric(sb, "sieve_decode_tokens_total", "counter", "Decode tokens run through the model", s.DecodedTokens);
        Metric(sb, "sieve_prefix_reused_tokens_total", "counter", "Prompt tokens found in a cached prefix and not prefilled", s.ReusedPrefixTokens + s.SharedPrefixTokens);
        Metric(sb, "sieve_forward_steps_total", "counter", "Batched forward passes", s.Steps);
        Metric(sb, "sieve_queue_length", "gauge", "Requests waiting for a sequence", s.Waiting);
        Metric(sb, "sieve_running_sequences", "gauge", "Sequences in the batch (the decode batch size)", s.Running);
        Metric(sb, "sieve_kv_bytes_in_use", "gauge", "Bytes of KV cache the running sequences hold", s.KvBytes);
        Metric(sb, "sieve_kv_bytes_reserved", "gauge", "Worst-case KV bytes reserved by the running sequences", s.ReservedKvBytes);
        Metric(sb, "sieve_prompt_cache_sequences", "gauge", "Finished sequences kept for prefix reuse", s.KeptSequences);
        Metric(sb, "sieve_prompt_cache_bytes", "gauge", "Bytes of KV cache the kept sequences hold", s.KeptKvBytes);
        Metric(sb, "sieve_prefill_tokens_per_second", "gauge", "Prefill tokens/s since the previous scrape", _prefillRate);
        Metric(sb, "sieve_decode_tokens_per_second", "gauge", "Decode tokens/s since the previous scrape", _decodeRate);
        return sb.ToString();
    }

    static void Head(StringBuilder sb, string name, string type, string help) => sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    static void Metric(StringBuilder sb, string name, string type, string help, double value)
    {
        Head(sb, name, type, help);
        sb.Append(name).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
    }
}
