using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Sieve.Generation;
using Sieve.Serving.Api;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;
using EngineMessage = Sieve.Tokenization.ChatMessage;

namespace Sieve.Serving;

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IChatClient"/> in process: the conversation goes through the model's chat
/// template and the same scheduler the HTTP server uses, so concurrent calls on one model share forward passes,
/// and a call whose messages start like an earlier one (its earlier turns) reuses that prompt's cached KV rows.
/// <see cref="ChatOptions"/> maps as OpenAI's fields do over HTTP: Temperature, TopP, TopK, MaxOutputTokens,
/// StopSequences (at most 4), Seed, Presence/FrequencyPenalty, ResponseFormat (text; JSON accepted but not
/// enforced; a JSON schema is refused). Sieve's methods per call: <c>AdditionalProperties["sieve.kv"]</c>,
/// <c>"sieve.budget"</c>, <c>"sieve.pop"</c>, <c>"sieve.sparsity"</c>.
/// </summary>
public sealed class SieveChatClient : IChatClient
{
    readonly ServingModel _served;
    readonly bool _owns;

    /// <summary>A client over a model this client serves alone (and disposes the scheduler of).</summary>
    public SieveChatClient(SieveModel model, ServerOptions? options = null)
        : this(new ServingModel(model, options ?? new ServerOptions { ModelId = Path.GetFileNameWithoutExtension(model.Checkpoint.Path.TrimEnd('/')) }), owns: true) { }

    /// <summary>A client sharing a served model (with an HTTP server, say); the caller disposes it.</summary>
    public SieveChatClient(ServingModel served) : this(served, owns: false) { }

    SieveChatClient(ServingModel served, bool owns)
    {
        _served = served; _owns = owns;
        Metadata = new ChatClientMetadata("sieve", null, served.Options.ModelId);
    }

    public ChatClientMetadata Metadata { get; }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<AiChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (prompt, generation) = Prepare(messages, options);
        var run = _served.Submit(prompt, generation, cancellationToken);
        var text = new System.Text.StringBuilder();
        await foreach (var t in run.Tokens.WithCancellation(cancellationToken).ConfigureAwait(false)) text.Append(t.Text);
        var stats = await run.Completion.ConfigureAwait(false);
        _served.Metrics.Generated(stats.GeneratedTokens);
        return new ChatResponse(new AiChatMessage(ChatRole.Assistant, text.ToString()))
        {
            ModelId = _served.Options.ModelId,
            CreatedAt = DateTimeOffset.UtcNow,
            FinishReason = Finish(stats),
            Usage = Usage(prompt.Length, stats),
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AiChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (prompt, generation) = Prepare(messages, options);
        var run = _served.Submit(prompt, generation, cancellationToken);
        string id = Guid.NewGuid().ToString("N");
        await foreach (var t in run.Tokens.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            // Tokens already queued when the caller cancelled are not handed out: cancelling ends the updates at once.
            cancellationToken.ThrowIfCancellationRequested();
            if (t.Text.Length > 0)
                yield return new ChatResponseUpdate(ChatRole.Assistant, t.Text) { ResponseId = id, MessageId = id, ModelId = _served.Options.ModelId };
        }
        var stats = await run.Completion.ConfigureAwait(false);
        _served.Metrics.Generated(stats.GeneratedTokens);
        yield return new ChatResponseUpdate
        {
            Role = ChatRole.Assistant, ResponseId = id, MessageId = id, ModelId = _served.Options.ModelId,
            FinishReason = Finish(stats),
            Contents = [new UsageContent(Usage(prompt.Length, stats))],
        };
    }

    (int[] Prompt, GenerationOptions Options) Prepare(IEnumerable<AiChatMessage> messages, ChatOptions? options)
    {
        try
        {
            var list = new List<EngineMessage>();
            foreach (var m in messages)
            {
                string role = m.Role == ChatRole.System ? "system" : m.Role == ChatRole.User ? "user" : m.Role == ChatRole.Assistant ? "assistant"
                    : throw new NotSupportedException($"the role '{m.Role}' is not supported (system, user, assistant; this client has no tools)");
                if (m.Contents.Any(c => c is not TextContent and not UsageContent))
                    throw new NotSupportedException($"a {role} message holds {m.Contents.First(c => c is not TextContent).GetType().Name}: only text is supported");
                list.Add(new EngineMessage(role, m.Text));
            }
            if (list.All(m => m.Role == "system")) throw new ArgumentException("the conversation has no user or assistant message", nameof(messages));
            var prompt = _served.EncodeChat(list);
            var (forward, cache) = _served.Resolve(ChatOptionsMapping.Extension(options));
            var fields = ChatOptionsMapping.Fields(options, _served.Options);
            if (prompt.Length >= _served.Context)
                throw new ArgumentException($"the prompt is {prompt.Length} tokens but the context holds {_served.Context}", nameof(messages));
            return (prompt, fields.Options(prompt.Length, _served.Context, forward, cache, 0));
        }
        catch (ApiException e) { throw new ArgumentException(e.Message, e.Param ?? nameof(options), e); }
    }

    static ChatFinishReason Finish(GenerationStats s) => s.StopReason is "eos" or "stop string" ? ChatFinishReason.Stop : ChatFinishReason.Length;

    static UsageDetails Usage(int prompt, GenerationStats s) => new()
    {
        InputTokenCount = prompt,
        OutputTokenCount = s.GeneratedTokens,
        TotalTokenCount = prompt + s.GeneratedTokens,
        CachedInputTokenCount = s.CachedTokens,
    };

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey != null ? null
        : serviceType == typeof(ChatClientMetadata) ? Metadata
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType.IsInstanceOfType(_served) ? _served
        : serviceType.IsInstanceOfType(_served.Model) ? _served.Model
        : null;

    public void Dispose()
    {
        if (_owns) _served.Dispose();
    }
}
