namespace Sieve.Tokenization;

/// <summary>The prompt layouts <see cref="ChatFormat"/> knows how to render.</summary>
public enum ChatTemplateFamily
{
    /// <summary>&lt;|im_start|&gt;role\n...&lt;|im_end|&gt; (Qwen, many fine-tunes); also the default.</summary>
    ChatML,
    /// <summary>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\n...&lt;|eot_id|&gt;</summary>
    Llama3,
    /// <summary>[INST] &lt;&lt;SYS&gt;&gt;...&lt;&lt;/SYS&gt;&gt; ... [/INST] (Llama 2 chat)</summary>
    Llama2,
    /// <summary>[INST] ... [/INST] without a system block (Mistral Instruct)</summary>
    Mistral,
    /// <summary>&lt;start_of_turn&gt;user\n...&lt;end_of_turn&gt;</summary>
    Gemma,
    /// <summary>&lt;|user|&gt;\n...&lt;|end|&gt;</summary>
    Phi3,
}
