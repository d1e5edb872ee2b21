using Sieve.Cache;
using Sieve.Models.Pop;
using Sieve.Sparsity;

namespace Sieve.Serving;

/// <summary>How <c>sieve serve</c> runs: where it listens, how many requests share the model, and the limits it enforces.</summary>
public sealed record ServerOptions
{
    /// <summary>Loopback unless told otherwise: a server that answers the whole network is a choice, not a default.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>0: any free port (the bound address is in <see cref="SieveServer.Urls"/>).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>The id clients name in "model"; the model file's name without its extension by default.</summary>
    public string ModelId { get; init; } = "model";

    /// <summary>Sequences decoded together in one forward pass (llama-server's --parallel, vLLM's max_num_seqs).</summary>
    public int Parallel { get; init; } = 4;

    /// <summary>Positions each sequence may hold (prompt + reply); 0: the model's context length.</summary>
    public int Context { get; init; }

    /// <summary>Rows one forward step carries (decode tokens first, then prefill chunks).</summary>
    public int MaxTokensPerStep { get; init; } = 512;

    /// <summary>Requests waiting for a free sequence beyond which new ones are turned away with 503 and Retry-After.</summary>
    public int MaxQueue { get; init; } = 256;

    /// <summary>Finished conversations whose KV rows are kept for prompts that start the same way; -1: as many as <see cref="Parallel"/>.</summary>
    public int PromptCache { get; init; } = -1;

    /// <summary>KV memory all sequences together may hold (0: no limit); a request that can never fit is refused with 400.</summary>
    public long KvBudgetBytes { get; init; }

    /// <summary>Bearer key every /v1 request must carry; null: none.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Request bodies above this are refused with 413 before they are read.</summary>
    public long MaxBodyBytes { get; init; } = 4 << 20;

    /// <summary>max_tokens above this is refused with 400; 0: the context.</summary>
    public int MaxTokensLimit { get; init; }

    /// <summary>Messages in one chat request at most.</summary>
    public int MaxMessages { get; init; } = 1024;

    /// <summary>Completions one request may ask for with n.</summary>
    public int MaxChoices { get; init; } = 8;

    /// <summary>Chat template family override (chatml, llama3, …); null: detected from the checkpoint.</summary>
    public string? ChatTemplate { get; init; }

    /// <summary>KV-cache method of requests that name none.</summary>
    public KvCacheSpec Cache { get; init; } = new();

    /// <summary>POP plan requests run unless they say otherwise (`--pop` etc.); null: every layer in prefill.</summary>
    public PopPlan? Pop { get; init; }

    /// <summary>The activation-sparsity set loaded at start (`--sparsity-file`); requests apply it unless they turn it off.</summary>
    public ActivationSparsity? Sparsity { get; init; }
}
